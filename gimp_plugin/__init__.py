"""Colorize runtime: turns black-and-white photos into color with an ONNX model (numpy + onnxruntime only).

The same core serves the `colorize` CLI, the GIMP 3 plug-in and the GIMP 2.10 plug-in (through the worker).
"""

__version__ = "0.1.0"
