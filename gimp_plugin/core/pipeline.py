"""The colorization pipeline: pixels in, pixels out, luminance untouched.

DeOldify's idea: the network predicts chroma (a*, b*) at a modest render size; the full-resolution L* of the input
is kept exactly and only the upsampled chroma is added. ``colorize`` validates the input, picks one of the two
paths of ``render_paths`` (a table for 8-bit photos, per-pixel Lab for 16-bit and float ones), measures L* at the
render size, runs the network, and writes the full-size result.
"""

from __future__ import annotations

import os
import time

import numpy as np

from . import limits, render_paths
from .errors import InputError
from .hints import Hints, resample_hints
from .model import ColorizationModel
from .render_paths import PixelLayout, Progress

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)
MAX_SATURATION = 10.0  # the saturation factor front ends accept: far past any use (4 paints neon); past it, noise


def inspect_pixels(pixels: np.ndarray) -> PixelLayout:
    """Check that ``pixels`` is an image the pipeline takes, and describe it; InputError otherwise."""
    if not isinstance(pixels, np.ndarray):
        raise InputError(f"expected a numpy array of pixels, got {type(pixels).__name__}")
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 2, 3, 4)):
        raise InputError(f"expected an H x W (x 1-4 channels) image, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    limits.check_pixel_count(width, height)
    if pixels.dtype.type not in SUPPORTED_DTYPES:
        raise InputError(f"unsupported pixel type {pixels.dtype}; use 8-bit, 16-bit or floating-point pixels")
    if np.issubdtype(pixels.dtype, np.floating):
        bad = pixels.size - int(np.count_nonzero(np.isfinite(pixels)))
        if bad:
            raise InputError(f"the image holds {bad} sample(s) that are not numbers (NaN or infinity); "
                             "replace them (or save the image as 16-bit) first")  # fmt: skip
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return PixelLayout(color_channels=1 if channels <= 2 else 3, has_alpha=channels in (2, 4), dtype=pixels.dtype)


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """Size the network runs at: longer side ``render_size``, never larger than the image itself."""
    scale = min(1.0, render_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _pad_to_multiple(tensor: np.ndarray, multiple: int, mode: str) -> np.ndarray:
    height, width = tensor.shape[-2:]
    pad = [(0, 0)] * (tensor.ndim - 2) + [(0, -height % multiple), (0, -width % multiple)]
    return np.pad(tensor, pad, mode=mode)


def predict_chroma(
    model: ColorizationModel,
    lightness_small: np.ndarray,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Run ``model`` on L [h, w] (any size): reflect-pad to its size multiple, crop back. Returns ab [2, h, w]."""
    height, width = lightness_small.shape
    multiple = model.info.size_multiple
    lightness = _pad_to_multiple(lightness_small[None, None], multiple, "reflect")
    hint_ab = hint_mask = None
    if hints is not None:
        hint_ab = _pad_to_multiple(hints[0][None], multiple, "constant")
        hint_mask = _pad_to_multiple(hints[1][None, None], multiple, "constant")
    ab = model.predict(lightness, hint_ab, hint_mask)
    return ab[0, :, :height, :width]


def measure_lightness(pixels: np.ndarray, layout: PixelLayout, size: tuple[int, int], threads: int | None = None):
    """L* [h, w] of ``pixels`` at the render ``size``, as ``colorize`` measures it (for the modules that look at a
    photo before it is colorized: the uncertainty, a reference's matching)."""
    return render_paths.choose(pixels, layout, threads or _default_threads()).measure(size, lambda fraction: None)


def _check_selection(selection: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if selection is None:
        return None
    selection = np.asarray(selection)
    if selection.shape != shape:
        raise InputError(f"the selection mask is {selection.shape}, the image is {shape}")
    if selection.dtype == np.uint8:
        return selection.astype(np.float32) / np.float32(255)
    if not np.issubdtype(selection.dtype, np.number) or not np.isfinite(selection).all():
        raise InputError("the selection mask holds values that are not numbers (NaN or infinity)")
    return np.clip(selection.astype(np.float32), 0.0, 1.0)


def _default_threads() -> int:
    return min(4, os.cpu_count() or 1)


def colorize(
    pixels: np.ndarray,
    model: ColorizationModel,
    *,
    render_size: int | None = None,
    saturation: float = 1.0,
    hints: Hints | None = None,
    selection: np.ndarray | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> np.ndarray:
    """Colorize ``pixels`` (gray, gray+alpha, RGB or RGBA; 8-bit, 16-bit or float in [0, 1]).

    Returns RGB (or RGBA, alpha copied) of the input's type (float inputs give float32). L* of every pixel is kept;
    ``selection`` (H x W, 0..1 or uint8) blends the result with the input, so 0 leaves a pixel exactly as it was.
    ``timings``, when given, receives the seconds spent converting, running the network and upsampling.
    """
    clock = _Stopwatch(timings)
    layout = inspect_pixels(pixels)
    if not (np.isfinite(saturation) and saturation >= 0):
        raise InputError(f"saturation must be a number from 0 up, got {saturation}")
    height, width = pixels.shape[:2]
    weight = _check_selection(selection, (height, width))
    report = progress or (lambda fraction: None)
    path = render_paths.choose(pixels, layout, threads or _default_threads())

    size = render_shape(height, width, render_size or model.info.default_render_size)
    limits.check_render_memory(*size)
    lightness_small = path.measure(size, report)
    hint_arrays = resample_hints(hints, *size) if hints is not None else None
    clock.lap("convert")
    ab_small = predict_chroma(model, lightness_small, hint_arrays)
    clock.lap("infer")
    report(0.6)
    output = path.write(ab_small, float(saturation), weight, report)
    clock.lap("upsample")
    return output


class _Stopwatch:
    """Adds the seconds since the previous lap to ``timings[name]`` (does nothing without a dict)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now
