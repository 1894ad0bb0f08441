"""A trainable generator from an exported ONNX model (the shipped one, or any file ``colorize-export`` wrote).

The file holds every trained weight, with batch norm folded in (``folding``) and the export's chroma gain in the
output convolution; this reads them back, so ``colorize-train --init-from shipped`` needs no training checkpoint.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gimp_plugin import contract

from .errors import TrainingError
from .export import BINS_TEMPERATURE, CHROMA_GAIN, MIRROR_AVERAGED, scale_chroma
from .folding import load_folded
from .models import PRESETS, ab_bins_of, build_generator

SHIPPED = "shipped"  # --init-from shipped: the model the runtime uses by default
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"  # as Python's :g writes it, 5e-05 included
_GAIN = re.compile(CHROMA_GAIN + " " + _NUMBER)
_TEMPERATURE = re.compile(BINS_TEMPERATURE + " " + _NUMBER)
# the notes colorize-export appends to colorize.trained_on; a re-export writes them anew
_EXPORT_NOTES = re.compile(rf"; ({CHROMA_GAIN} {_NUMBER}|{BINS_TEMPERATURE} {_NUMBER}|{MIRROR_AVERAGED})")


def is_exported_model(source: str) -> bool:
    return source == SHIPPED or source.lower().endswith(".onnx")


def resolve(source: str) -> Path:
    """The ONNX file ``source`` names ('shipped' is the runtime's default model)."""
    if source == SHIPPED:
        from gimp_plugin.model import default_model_path

        return default_model_path()
    return Path(source)


def chroma_gain(trained_on: str) -> float:
    """The gain colorize-export recorded in ``colorize.trained_on`` (1.0 when none)."""
    found = _GAIN.search(trained_on)
    return float(found.group(1)) if found else 1.0


def bins_temperature(trained_on: str) -> float | None:
    """The annealing temperature colorize-export recorded for a bins model (None when none)."""
    found = _TEMPERATURE.search(trained_on)
    return float(found.group(1)) if found else None


def read(path: Path, role: str = "--init-from") -> tuple[contract.ModelInfo, dict[str, torch.Tensor]]:
    """The model's contract metadata and its weights (float32, by initializer name); ``role`` names the argument
    the path came from in errors."""
    import onnx
    from onnx import numpy_helper

    if not path.is_file():
        raise TrainingError(f"{role} {path}: no such model file")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # a truncated or foreign file: the loader's own message says why
        raise TrainingError(f"{role} {path}: not a readable ONNX file ({error})") from error
    info, problems = contract.parse_metadata({entry.key: entry.value for entry in model.metadata_props})
    if info is None:
        raise TrainingError(f"{role} {path}: not a Colorize model ({'; '.join(problems)})")
    weights = {
        tensor.name: torch.from_numpy(np.array(numpy_helper.to_array(tensor), dtype=np.float32))
        for tensor in model.graph.initializer
    }
    return info, weights


def preset_of(info: contract.ModelInfo) -> str:
    presets = {spec.arch: name for name, spec in PRESETS.items()}
    if info.arch not in presets:
        raise TrainingError(f"model architecture {info.arch!r} is not one colorize-train builds "
                            f"({', '.join(sorted(presets))})")  # fmt: skip
    return presets[info.arch]


def generator_from_onnx(path: Path, role: str = "--init-from") -> tuple[nn.Module, str, contract.ModelInfo]:
    """(generator in eval mode, its preset, its metadata). The export's chroma gain is divided out again, so that
    training continues from the network as it was trained; every batch norm is the identity until
    ``folding.calibrate_batch_norms`` sees data."""
    info, weights = read(path, role)
    preset = preset_of(info)
    inner = "generator."  # a --mirror-average export keeps the generator's weights under this prefix
    if any(name.startswith(inner) for name in weights):
        weights = {name.removeprefix(inner): tensor for name, tensor in weights.items()}
    generator = build_generator(preset, pretrained=False)
    try:
        missing = load_folded(generator, weights)
    except ValueError as error:
        raise TrainingError(f"{role} {path}: {error}") from error
    unexpected = [name for name in missing if not name.startswith("classifier._fc.")]  # unused by the forward pass
    if unexpected:
        raise TrainingError(f"{role} {path}: the file lacks {len(unexpected)} weights ({unexpected[0]}, ...)")
    if (bins := ab_bins_of(generator)) is not None:  # its gain was in the bin centres, which are rebuilt at 1
        bins.temperature = bins_temperature(info.trained_on) or bins.temperature
        return generator.eval(), preset, info
    gain = chroma_gain(info.trained_on)
    if gain != 1.0:
        scale_chroma(generator, 1 / gain)
    return generator.eval(), preset, info


def export_source(path: Path) -> tuple[nn.Module, dict, str, bool]:
    """What ``colorize-export FILE.onnx`` re-exports: (the generator at gain 1, in eval mode; the run settings the
    export needs; the file's description of its training without the export's notes; whether it was mirror-averaged).

    Lets a model's chroma gain or temperature change without its training run (``colorize-calibrate`` reads a gain
    off held-out photos; the shipped model's run is not shipped)."""
    generator, preset, info = generator_from_onnx(path, "colorize-export")
    config = {"preset": preset, "image_size": info.native_size, "data": [], "step": 0, "init_from": str(path)}
    trained_on = _EXPORT_NOTES.sub("", info.trained_on or "")
    return generator, config, trained_on, MIRROR_AVERAGED in (info.trained_on or "")
