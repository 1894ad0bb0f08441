"""Where the model is unsure of its color: a per-pixel estimate of its chroma error, at the render size.

No shipped model has an uncertainty output, so the estimate comes from what the network already gives: its
prediction for the photo and for the photo's mirror image (mirrored back). Where the network is sure of a color
(sky, foliage) the two views agree; where it guesses (a coat, a wall, a car) they often differ. Their distance is
turned into an expected ab error with a small fit (``ERROR_FIT``) that also knows that mid tones carry the most
color and that strong predicted chroma is more often wrong; ``training/measure/fit_uncertainty.py`` makes the fit from
93 photos of the training pool outside its held-out split (never from ``val_general``); on them its per-pixel
correlation with the true error is 0.40 (the mirror distance alone: 0.35) for stage 12, half of the shipped
model (not refitted for it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints, resample_hints
from gimp_plugin.core.pipeline import predict_chroma
from gimp_plugin.core.render import Render
from gimp_plugin.core.resample import area_resize, bilinear_resize, box_mean
from gimp_plugin.core.session import ColorizationModel

# expected ab error ~ c0 + c1 d + c2 sqrt(d) + c3 chroma + c4 L + c5 L^2 + c6 edge, with d the mirror distance
# (ab units), chroma the predicted |ab|, L = L*/100 and edge the local L* variation
# (training/measure/fit_uncertainty.py).
ERROR_FIT = (3.861, 0.9482, 0.1399, 0.0387, 29.27, -27.68, 0.01655)  # fitted for stage 12
LOWEST_ERROR = 0.1  # ab units: the estimate never says "certainly right"


@dataclass(frozen=True)
class Analysis:
    """A photo as the suggestions see it, at the render size."""

    lightness: np.ndarray  # [h, w] L*
    ab: np.ndarray  # [2, h, w] the prediction (with the hints given)
    uncertainty: np.ndarray  # [h, w] expected ab error
    allowed: np.ndarray  # [h, w] bool: inside the selection, not transparent
    hinted: np.ndarray | None  # [h, w] bool: cells the given hints cover
    shape: tuple[int, int]  # the photo's (height, width)


def local_variation(lightness: np.ndarray, radius: int = 2) -> np.ndarray:
    """The standard deviation of L* over a small square: high on edges and texture, low inside even regions."""
    mean = box_mean(lightness, radius)
    return np.sqrt(np.maximum(box_mean(lightness**2, radius) - mean**2, 0))


def mirror_distance(
    model: ColorizationModel, lightness: np.ndarray, hints: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(ab [2, h, w], distance [h, w]): the prediction, and how far the mirror image's prediction is from it."""
    ab = predict_chroma(model, lightness, hints)
    flipped = None if hints is None else (np.ascontiguousarray(hints[0][:, :, ::-1]), hints[1][:, ::-1].copy())
    mirrored = predict_chroma(model, np.ascontiguousarray(lightness[:, ::-1]), flipped)[:, :, ::-1]
    return ab, np.hypot(*(ab - mirrored)).astype(np.float32)


def expected_error(distance: np.ndarray, ab: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """The fitted expected ab error per pixel (see ERROR_FIT)."""
    c0, c1, c2, c3, c4, c5, c6 = ERROR_FIT
    level = lightness / 100
    estimate = (
        c0
        + c1 * distance
        + c2 * np.sqrt(distance)
        + c3 * np.hypot(*ab)
        + c4 * level
        + c5 * level**2
        + c6 * local_variation(lightness)
    )
    return np.maximum(estimate, LOWEST_ERROR).astype(np.float32)


def analyse(render: Render, model: ColorizationModel, hints: Hints | None = None) -> Analysis:
    """The prediction for a prepared photo (with ``hints``) and its uncertainty."""
    if not model.accepts_hints:
        raise InputError(f"model {model.path.name} has no hint inputs, so it cannot suggest hints")
    size, pixels = render.size, render.pixels
    hint_arrays = resample_hints(hints, *size) if hints is not None else None
    ab, distance = mirror_distance(model, render.lightness, hint_arrays)
    allowed = np.ones(size, bool)
    if render.selection is not None:
        allowed &= area_resize(render.selection, *size) >= 0.5
    if render.layout.has_alpha:  # not a single fully transparent pixel in the cell
        allowed &= area_resize((pixels[..., -1] > 0).astype(np.float32), *size) >= 1.0 - 1e-6
    hinted = None if hint_arrays is None else hint_arrays[1] > 0
    return Analysis(render.lightness, ab, expected_error(distance, ab, render.lightness), allowed, hinted, render.shape)


HEAT = np.array([[0, 0, 0], [110, 20, 120], [225, 80, 40], [255, 235, 160]], np.float32)  # sure -> unsure


def _palette() -> np.ndarray:
    """[256, 3] uint8: the HEAT stops interpolated over 256 levels."""
    position = np.linspace(0, len(HEAT) - 1, 256)
    low = np.minimum(position.astype(int), len(HEAT) - 2)
    fraction = (position - low)[:, None]
    return np.round(HEAT[low] * (1 - fraction) + HEAT[low + 1] * fraction).astype(np.uint8)


PALETTE = _palette()


def heat_map_top(analysis: Analysis) -> float:
    """The expected error (ab units) that heat_map draws brightest by default: the photo's 99th percentile."""
    return max(1.0, float(np.percentile(analysis.uncertainty, 99)))


def heat_map(analysis: Analysis, top: float | None = None) -> np.ndarray:
    """The uncertainty as an RGB picture at the photo's size: black where the model is sure, through purple and
    orange to pale yellow where it is least sure; ``top`` ab units (default: the photo's 99th percentile) is the
    brightest. The level is upsampled (one plane), then colored through a 256-entry palette."""
    values = analysis.uncertainty
    top = top or heat_map_top(analysis)
    level = np.clip(values / np.float32(top), 0, 1).astype(np.float32)[None] * np.float32(255)
    height, width = analysis.shape
    full = bilinear_resize(level, height, width)[0]
    return PALETTE[np.clip(full + np.float32(0.5), 0, 255).astype(np.uint8)]
