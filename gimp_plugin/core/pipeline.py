"""The colorization pipeline: pixels in, pixels out, luminance untouched.

DeOldify's idea: the network predicts chroma (a*, b*) at a modest render size; the full-resolution L* of the input
is kept exactly and only the upsampled chroma is added. ``colorize`` prepares the photo (``render.prepare``: checks,
the render path, L* at the render size), runs the network, and writes the full-size result.
"""

from __future__ import annotations

import time

import numpy as np

from gimp_plugin.core import guided
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints, resample_hints
from gimp_plugin.core.render import Render, pad_to_multiple, prepare
from gimp_plugin.core.render_paths import Progress
from gimp_plugin.core.session import ColorizationModel

MAX_SATURATION = 10.0  # the saturation factor front ends accept: far past any use (4 paints neon); past it, noise


def predict_chroma(
    model: ColorizationModel,
    lightness_small: np.ndarray,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Run ``model`` on L [h, w] (any size): reflect-pad to its size multiple, crop back. Returns ab [2, h, w]."""
    height, width = lightness_small.shape
    multiple = model.info.size_multiple
    lightness = pad_to_multiple(lightness_small[None, None], multiple, "reflect")
    hint_ab = hint_mask = None
    if hints is not None:
        hint_ab = pad_to_multiple(hints[0][None], multiple, "constant")
        hint_mask = pad_to_multiple(hints[1][None, None], multiple, "constant")
    ab = model.predict(lightness, hint_ab, hint_mask)
    return ab[0, :, :height, :width]


def check_saturation(saturation: float) -> None:
    if not (np.isfinite(saturation) and saturation >= 0):
        raise InputError(f"saturation must be a number from 0 up, got {saturation}")


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
    check_saturation(saturation)  # before the work of preparing the photo
    clock = _Stopwatch(timings)
    render = prepare(pixels, model, render_size=render_size, selection=selection, threads=threads, progress=progress)
    clock.lap("convert")
    return colorize_render(render, model, saturation=saturation, hints=hints, progress=progress, timings=timings)


def colorize_render(
    render: Render,
    model: ColorizationModel,
    *,
    saturation: float = 1.0,
    hints: Hints | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> np.ndarray:
    """``colorize`` of a photo already prepared (``render.prepare``): the network at the render size, then the
    full-size result."""
    check_saturation(saturation)
    clock = _Stopwatch(timings)
    report = progress or (lambda fraction: None)
    hint_arrays = resample_hints(hints, *render.size) if hints is not None else None
    clock.lap("convert")
    ab_small = predict_chroma(model, render.lightness, hint_arrays)
    clock.lap("infer")
    report(0.6)
    guide = guided.guide_shape(render.shape, render.size)
    if guide is not None:  # the chroma follows the photo's edges at a larger size before it is upsampled
        ab_small = guided.refine(ab_small, render.lightness, render.path.lightness_at(guide))
    output = render.path.write(ab_small, float(saturation), render.selection, report)
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
