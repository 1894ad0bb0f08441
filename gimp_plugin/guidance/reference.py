"""Colors from a reference photo: "make it look like this one".

The network's own encoder describes every 8 x 8 cell of a photo (contract 2's ``features`` output). Each cell of the
gray photo is matched to the most similar cell of the color reference, seen at two scales and mirrored (a second
photo of the same place is framed, sized and turned otherwise), and the reference's a*, b* there are carried over
as a hint dot, but only where the match is confident:

- similar enough (cosine similarity of the features above ``MIN_SIMILARITY``),
- mutual (that reference cell's best match is this cell, or a neighbour of it),
- coherent (at least ``MIN_COHERENT`` neighbouring cells match the neighbouring cells of the same reference view:
  a region, not a coincidence), and
- in one framing (the matches agree on one view of the reference, through one scale and shift, within
  ``FRAMING_TOLERANCE`` cells), and
- part of a match that holds: at least ``MIN_SHARE`` of the photo's cells and ``MIN_CELLS`` cells in all.

Once a match holds, the photo's other cells that the framing maps inside the reference view take the color there
too, where their features are similar to it (above ``FILL_SIMILARITY``). A reference of something else finds no
framing and carries nothing, rather than smearing its palette over the photo. The dots go to the ordinary hints
path (the user's own hints win where both exist); ``pipeline.colorize`` knows nothing of this module. Chosen on the
training pool's held-out split, measured on val_general (docs/model-card.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints, resample_hints
from gimp_plugin.core.render import Render, pad_to_multiple, render_shape, render_side
from gimp_plugin.core.resample import area_resize
from gimp_plugin.core.session import ColorizationModel

MIN_SIMILARITY = 0.6  # chosen on the pool split (0.7 before: 0.07 dB less there)
MIN_COHERENT = 2  # of the 8 neighbouring cells
MIN_SHARE = 0.05
MIN_CELLS = 12
FRAMING_TOLERANCE = 3.0  # cells: how far a match may sit from the common framing
FILL_SIMILARITY = 0.5  # cells the framing maps onto the reference get its color there when this similar to it
VIEW_SCALES = (1.0, 0.7)  # the reference is matched at these shares of the render size, each also mirrored
DOT = 3  # render pixels: the side of the hint dot a matched cell gets
MIN_SIDE = 32  # a reference smaller than this has too few cells to match
MIN_CHROMA = 2.0  # mean ab distance from gray under which a reference has no colors to carry


@dataclass(frozen=True)
class Reference:
    """A reference photo's cells, ready to match any number of photos (a folder run uses one for all)."""

    features: np.ndarray  # [n, C], unit length
    ab: np.ndarray  # [n, 2] the reference's mean a*, b* over each cell
    views: np.ndarray  # [n, 3] (view, row, column) of each cell
    name: str


def _unit(features: np.ndarray) -> np.ndarray:
    return features / (np.linalg.norm(features, axis=0, keepdims=True) + 1e-6)


def cell_features(model: ColorizationModel, lightness: np.ndarray) -> np.ndarray:
    """[C, rows, columns] unit-length features of L [h, w] (one cell per stride x stride pixels, edges included)."""
    stride = model.info.feature_stride
    padded = pad_to_multiple(lightness[None, None], model.info.size_multiple, "reflect")
    features = model.features(padded)
    return _unit(features[:, : -(-lightness.shape[0] // stride), : -(-lightness.shape[1] // stride)])


def _linear_planes(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Linear-light RGB [3, h, w] of RGB(A) or gray pixels (any sample type), reduced by area to ``size``. 8-bit
    samples are decoded through a table, one plane at a time: a 12 MP reference costs a few float planes."""
    count = 3 if pixels.ndim == 3 and pixels.shape[2] >= 3 else 1
    planes = []
    for index in range(count):
        plane = pixels[..., index] if pixels.ndim == 3 else pixels
        if plane.dtype == np.uint8:
            linear = color.LINEAR_OF_U8[plane]
        else:
            linear = color.srgb_to_linear(color.to_unit_float(plane))
        planes.append(area_resize(linear, *size))
    return np.stack(planes * (3 // count))


def _lab_of(linear: np.ndarray) -> np.ndarray:
    return np.moveaxis(color.linear_to_lab(np.moveaxis(linear, 0, -1)), -1, 0)


def hints_for(
    render: Render, model: ColorizationModel, references: list[Reference], user: Hints | None = None
) -> tuple[Hints | None, bool, float]:
    """(the hints to colorize a prepared photo with: the references' colors where they match, the ``user``'s own
    where given; whether the references carried any color; the share of the photo's cells they matched)."""
    carried, share = match(model, render.lightness, references)
    return merge(user, carried, render.size), carried is not None, share


def prepare_reference(
    pixels: np.ndarray, model: ColorizationModel, render_size: int | None = None, name: str = "the reference"
) -> Reference:
    """The cells of a color reference photo. InputError if it is too small or has no color; ModelError if the
    model has no features output."""
    if not model.has_features:
        model.features(np.zeros((1, 1, model.info.size_multiple, model.info.size_multiple), np.float32))  # says why
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise InputError(f"{name} is {width} x {height} pixels: too small to match (at least {MIN_SIDE} x {MIN_SIDE})")
    stride = model.info.feature_stride
    features, ab, views = [], [], []
    first = None  # the first view is reduced from the full-size reference, the others from it
    for scale in VIEW_SCALES:
        size = render_shape(height, width, max(MIN_SIDE, round(render_side(model, render_size) * scale)))
        if first is None:
            first = _linear_planes(pixels, size)
        lab = _lab_of(first if size == first.shape[1:] else np.stack([area_resize(p, *size) for p in first]))
        if scale == VIEW_SCALES[0] and float(np.hypot(lab[1], lab[2]).mean()) < MIN_CHROMA:
            raise InputError(f"{name} is black-and-white: it has no colors to carry; give a color photo")
        for mirrored in (False, True):
            view = lab[:, :, ::-1] if mirrored else lab
            cells = cell_features(model, np.ascontiguousarray(view[0]))
            ab.append(_cell_means(view[1:], stride, cells.shape[1:]).T)
            features.append(cells.reshape(cells.shape[0], -1).T)
            rows, columns = cells.shape[1:]
            grid_rows, grid_columns = np.mgrid[0:rows, 0:columns]
            views.append(np.stack([np.full(rows * columns, len(views)), grid_rows.ravel(), grid_columns.ravel()], 1))
    return Reference(np.concatenate(features), np.concatenate(ab).astype(np.float32), np.concatenate(views), name)


def _cell_means(planes: np.ndarray, stride: int, cells: tuple[int, int]) -> np.ndarray:
    """[k, rows * columns]: the mean of each of ``planes`` [k, h, w] over each stride x stride cell (edge cells
    padded by repetition, as the features see them)."""
    rows, columns = cells
    height, width = planes.shape[1:]
    padded = np.pad(planes, ((0, 0), (0, rows * stride - height), (0, columns * stride - width)), mode="edge")
    return padded.reshape(len(planes), rows, stride, columns, stride).mean(axis=(2, 4)).reshape(len(planes), -1)


def _coherent(best: np.ndarray, views: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Per cell: how many of its 8 neighbours match the neighbouring cell of the same reference view (within 1)."""
    grid = best.reshape(rows, columns)
    view, row, column = (views[grid][..., k] for k in range(3))
    count = np.zeros((rows, columns), int)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if not dr and not dc:
                continue
            r0, r1 = max(0, -dr), rows - max(0, dr)
            c0, c1 = max(0, -dc), columns - max(0, dc)
            here = (slice(r0, r1), slice(c0, c1))
            there = (slice(r0 + dr, r1 + dr), slice(c0 + dc, c1 + dc))
            agrees = (view[there] == view[here]) & (np.abs(row[there] - row[here] - dr) <= 1)
            agrees &= np.abs(column[there] - column[here] - dc) <= 1
            count[here] += agrees
    return count.ravel()


def match(model: ColorizationModel, lightness: np.ndarray, references: list[Reference]) -> tuple[Hints | None, float]:
    """(hints at the render size, or None when nothing matched with confidence; the share of cells matched) for
    the photo whose L at the render size is ``lightness``."""
    cells = cell_features(model, lightness)
    rows, columns = cells.shape[1:]
    target = cells.reshape(cells.shape[0], -1).T
    features = np.concatenate([reference.features for reference in references])
    ab = np.concatenate([reference.ab for reference in references])
    views = np.concatenate(
        [r.views + [offset, 0, 0] for r, offset in zip(references, _view_offsets(references), strict=True)]
    )
    similarity = target @ features.T
    best, score = similarity.argmax(1), similarity.max(1)
    back = similarity.argmax(0)[best]  # each best reference cell's own best photo cell
    own = np.arange(len(target))
    mutual = (np.abs(back // columns - own // columns) <= 1) & (np.abs(back % columns - own % columns) <= 1)
    confident = mutual & (score > MIN_SIMILARITY) & (_coherent(best, views, rows, columns) >= MIN_COHERENT)
    confident, framing = _one_framing(confident, best, views, columns)
    share = float(confident.mean())
    if share < MIN_SHARE or confident.sum() < MIN_CELLS:
        return None, share
    # The match holds, so a framing was found (it keeps MIN_CELLS cells or more): the rest of the framed view lends
    # its colors where similar enough.
    mapped = _through_framing(framing, views, rows, columns)  # each photo cell's reference cell, or -1
    fill = ~confident & (mapped >= 0)
    fill[fill] = similarity[np.flatnonzero(fill), mapped[fill]] > FILL_SIMILARITY
    best = np.where(fill, mapped, best)
    confident |= fill
    share = float(confident.mean())
    return _dots(lightness.shape, columns, model.info.feature_stride, np.flatnonzero(confident), ab[best]), share


def _through_framing(framing: tuple[int, float, np.ndarray], views: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """[rows * columns]: the reference cell the framing maps each photo cell onto (-1 outside the view)."""
    view, scale, shift = framing
    in_view = np.flatnonzero(views[:, 0] == view)
    view_rows, view_columns = views[in_view, 1].max() + 1, views[in_view, 2].max() + 1
    grid = np.stack(np.mgrid[0:rows, 0:columns], -1).reshape(-1, 2).astype(np.float64)
    there = np.rint(scale * grid + shift).astype(int)
    inside = (there[:, 0] >= 0) & (there[:, 0] < view_rows) & (there[:, 1] >= 0) & (there[:, 1] < view_columns)
    # a view's cells are stored row by row from its first index on (prepare_reference)
    return np.where(inside, in_view[0] + there[:, 0] * view_columns + there[:, 1], -1)


def _one_framing(confident: np.ndarray, best: np.ndarray, views: np.ndarray, columns: int):
    """(the confident cells whose matches agree on one framing, that framing as (view, scale, shift) or None): the
    reference view that holds most of them, seen through one scale and shift (a second photo of the place frames
    it otherwise, but as a whole). A reference of something else matches here and there, in no common framing, and
    keeps (almost) nothing."""
    cells = np.flatnonzero(confident)
    kept = np.zeros_like(confident)
    if len(cells) < MIN_CELLS:
        return kept, None
    here = np.stack([cells // columns, cells % columns], 1).astype(np.float64)
    there = views[best[cells]]
    best_inliers, framing = np.zeros(len(cells), bool), None
    for view in np.unique(there[:, 0]):
        inliers, fitted = there[:, 0] == view, None
        for _ in range(4):  # least squares, then again on the cells it explains
            if inliers.sum() < 3:
                break
            fitted = (int(view), *_fit_scale_shift(here[inliers], there[inliers, 1:].astype(np.float64)))
            residual = np.hypot(*(there[:, 1:] - (fitted[1] * here + fitted[2])).T)
            inliers = (there[:, 0] == view) & (residual <= FRAMING_TOLERANCE)
        if inliers.sum() > best_inliers.sum():
            best_inliers, framing = inliers, fitted
    kept[cells[best_inliers]] = True
    return kept, framing


def _fit_scale_shift(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """target ~ scale * source + shift (one scale for rows and columns), by least squares."""
    source_mean, target_mean = source.mean(0), target.mean(0)
    centred = source - source_mean
    spread = float((centred**2).sum())
    scale = float((centred * (target - target_mean)).sum() / spread) if spread > 0 else 1.0
    return scale, target_mean - scale * source_mean


def _view_offsets(references: list[Reference]) -> list[int]:
    offsets, total = [], 0
    for reference in references:
        offsets.append(total)
        total += int(reference.views[:, 0].max()) + 1
    return offsets


def _dots(size, columns: int, stride: int, cells: np.ndarray, colors: np.ndarray) -> Hints:
    """A DOT-pixel hint at the centre of each matched cell, in the matched reference cell's color."""
    ab, mask = np.zeros((2, *size), np.float32), np.zeros(size, np.float32)
    half = DOT // 2
    for index in cells:
        row, column = divmod(int(index), columns)
        y = min(size[0] - 1 - half, max(half, row * stride + stride // 2))
        x = min(size[1] - 1 - half, max(half, column * stride + stride // 2))
        ab[:, y - half : y + half + 1, x - half : x + half + 1] = colors[index][:, None, None]
        mask[y - half : y + half + 1, x - half : x + half + 1] = 1
    return Hints(ab=ab, mask=mask)


def merge(user: Hints | None, carried: Hints | None, size: tuple[int, int]) -> Hints | None:
    """One set of hints at ``size``: the user's where they give one, the reference's elsewhere."""
    if carried is None or user is None:
        return user if carried is None else carried
    user_ab, user_mask = resample_hints(user, *size)
    keep = user_mask > 0
    return Hints(ab=np.where(keep, user_ab, carried.ab), mask=np.where(keep, user_mask, carried.mask))
