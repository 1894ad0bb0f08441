"""Suggested hint points: where a dot of the right color would correct the most.

From the uncertainty (``uncertainty.analyse``), points are chosen greedily, each where a hint would cover the most
expected error not covered yet. A hint covers the cells near it that have a similar lightness and predicted color
(the network spreads a hint over its region, not across edges), with a weight that falls off with distance; so
points spread out by themselves (not ten on one coat), one goes to each region that matters, and a second point in
a covered region, or next to a hint already given, is worth little. Each point then sits on the flattest cell of
its neighbourhood, where a dot takes the region's typical color rather than an edge's.

The result feeds the ordinary hints path: an RGBA hint image in the ``--hints`` format, one dot per point in the
model's current guess of its color, that the user recolors and passes back. ``pipeline.colorize`` knows nothing
of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.render import prepare
from gimp_plugin.core.resample import area_resize
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.guidance.uncertainty import Analysis, analyse, local_variation

MAX_SUGGESTIONS = 200
REACH = 0.12  # a hint's reach, as a share of the render's short side
SIMILAR_L = 12.0  # L* difference over which a hint's reach falls off
SIMILAR_AB = 20.0  # predicted ab difference over which it falls off
PLANNING_SIDE = 48  # points are planned on a grid this long (coverage is smooth), then placed on render cells
# Chosen on the training pool's held-out split (26 photos, 10 points), never on val_general: docs/model-card.md.


@dataclass(frozen=True)
class Suggestions:
    """Suggested hint points at the photo's size, best first, with the model's guess of each one's color."""

    points: list[tuple[int, int]]  # (row, column) in the photo
    colors: np.ndarray  # [N, 3] uint8 sRGB
    shape: tuple[int, int]  # the photo's (height, width)


def _coverage(analysis: Analysis, shape: tuple[int, int], reach: float) -> np.ndarray:
    """[n, n] over the planning grid's cells: how much a hint in one cell covers another."""
    rows, columns = (axis.ravel().astype(np.float64) for axis in np.mgrid[0 : shape[0], 0 : shape[1]])
    exponent = -((rows[:, None] - rows[None]) ** 2 + (columns[:, None] - columns[None]) ** 2) / (2 * reach**2)
    for plane, similar in ((analysis.lightness, SIMILAR_L), (analysis.ab[0], SIMILAR_AB), (analysis.ab[1], SIMILAR_AB)):
        values = area_resize(plane, *shape).astype(np.float64).ravel()
        exponent -= (values[:, None] - values[None]) ** 2 / (2 * similar**2)
    return np.exp(exponent)


def plan_cells(analysis: Analysis, count: int, target: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Up to ``count`` render cells, best first (fewer when no place is left). ``target`` replaces the
    uncertainty as what the points should cover (the evaluation's oracle gives the true error)."""
    size = analysis.lightness.shape
    factor = max(1, int(np.ceil(max(size) / PLANNING_SIDE)))
    shape = (-(-size[0] // factor), -(-size[1] // factor))
    coverage = _coverage(analysis, shape, max(1.0, REACH * min(size) / factor))
    remaining = area_resize(analysis.uncertainty if target is None else target, *shape).astype(np.float64).ravel()
    usable = (area_resize(analysis.allowed.astype(np.float32), *shape) > 0.5).ravel()
    if analysis.hinted is not None:  # what the given hints already tell is covered
        for index in np.flatnonzero(area_resize(analysis.hinted.astype(np.float32), *shape).ravel() > 0):
            remaining *= 1.0 - coverage[index]
            usable &= coverage[index] < 0.5
    flatness = -local_variation(analysis.lightness)
    cells = []
    for _ in range(count):
        gain = np.where(usable, coverage @ remaining, -np.inf)
        index = int(np.argmax(gain))
        if not np.isfinite(gain[index]) or gain[index] <= 0:
            break
        remaining *= 1.0 - coverage[index]
        usable &= coverage[index] < 0.5  # two points never sit side by side in one region
        cells.append(_flattest(flatness, analysis.allowed, *divmod(index, shape[1]), factor))
    return cells


def _flattest(flatness: np.ndarray, allowed: np.ndarray, row: int, column: int, factor: int) -> tuple[int, int]:
    """The flattest allowed render cell of a planning cell (its centre when none is allowed)."""
    rows = slice(row * factor, min(flatness.shape[0], (row + 1) * factor))
    columns = slice(column * factor, min(flatness.shape[1], (column + 1) * factor))
    block = np.where(allowed[rows, columns], flatness[rows, columns], -np.inf)
    if not np.isfinite(block).any():
        return (rows.start + rows.stop) // 2, (columns.start + columns.stop) // 2
    r, c = divmod(int(np.argmax(block)), block.shape[1])
    return rows.start + r, columns.start + c


def check_count(count: int) -> None:
    """InputError unless ``count`` is a number of points one may ask for."""
    if not 1 <= count <= MAX_SUGGESTIONS:
        raise InputError(f"ask for 1 to {MAX_SUGGESTIONS} suggested hint points, not {count}")


def suggest_from(analysis: Analysis, count: int, target: np.ndarray | None = None) -> Suggestions:
    """``count`` suggestions from an analysis, at the photo's size, with the model's guess of their colors."""
    check_count(count)
    cells = plan_cells(analysis, count, target)
    (height, width), (small_h, small_w) = analysis.shape, analysis.lightness.shape
    points = [
        (min(height - 1, int((r + 0.5) * height / small_h)), min(width - 1, int((c + 0.5) * width / small_w)))
        for r, c in cells
    ]
    lab = np.array([[analysis.lightness[r, c], *analysis.ab[:, r, c]] for r, c in cells], np.float32).reshape(-1, 3)
    colors = np.round(color.lab_to_rgb(lab) * 255).astype(np.uint8)
    return Suggestions(points, colors, analysis.shape)


def suggest_hints(
    pixels: np.ndarray,
    model: ColorizationModel,
    count: int,
    *,
    render_size: int | None = None,
    hints: Hints | None = None,
    selection: np.ndarray | None = None,
    threads: int | None = None,
) -> Suggestions:
    """``count`` hint points for ``pixels``, best first."""
    check_count(count)  # before any work
    render = prepare(pixels, model, render_size=render_size, selection=selection, threads=threads)
    return suggest_from(analyse(render, model, hints), count)


def opaque_pixels(pixels: np.ndarray) -> np.ndarray | None:
    """Where a photo with alpha is not fully transparent (the dots' ``where``), or None without alpha."""
    return pixels[..., -1] > 0 if pixels.ndim == 3 and pixels.shape[2] in (2, 4) else None


def dot_radius(shape: tuple[int, int]) -> int:
    """A dot one sees and recolors with one click of the brush: 0.6 % of the long side, 2 pixels at least."""
    return max(2, round(0.006 * max(shape)))


def dots_image(suggestions: Suggestions, radius: int | None = None, where: np.ndarray | None = None) -> np.ndarray:
    """The suggestions as an RGBA hint image of the photo's size: one opaque round dot per point, in the
    model's guess of its color, transparent elsewhere (the ``--hints`` format). ``where`` (H x W bool), when
    given, is where dots may be painted (the photo's pixels that are not transparent)."""
    height, width = suggestions.shape
    radius = dot_radius(suggestions.shape) if radius is None else radius
    image = np.zeros((height, width, 4), np.uint8)
    offsets = np.arange(-radius, radius + 1)
    disk = np.hypot(*np.meshgrid(offsets, offsets, indexing="ij")) <= radius + 0.25
    for (row, column), rgb in zip(suggestions.points, suggestions.colors, strict=True):
        top, left = row - radius, column - radius
        rows = slice(max(0, top), min(height, row + radius + 1))
        columns = slice(max(0, left), min(width, column + radius + 1))
        inside = disk[rows.start - top : rows.stop - top, columns.start - left : columns.stop - left]
        if where is not None:
            inside = inside & where[rows, columns]
        image[rows, columns][inside] = [*rgb, 255]
    return image
