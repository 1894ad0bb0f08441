"""Separable resampling in numpy: exact area (box) reduction and half-pixel bilinear interpolation.

Area reduction sums whole samples between the cell edges and adds the edge samples' shares, so it costs one pass
over the image whatever the scale and never drops a pixel: every source pixel contributes to the output in
proportion to the area it covers.
"""

from __future__ import annotations

import numpy as np


def area_along_last_axis(values: np.ndarray, size: int) -> np.ndarray:
    """Box-filter the last axis of ``values`` to ``size`` samples (or stretch it, each sample spread evenly)."""
    length = values.shape[-1]
    values = values.astype(np.float32, copy=False)
    if size == length:
        return values
    # Each output sample sums the input over [edge j, edge j+1): whole samples from the one holding edge j up to the
    # one holding edge j+1 (one reduceat), plus that last one's share, minus the first one's share before edge j.
    edges = np.arange(size + 1, dtype=np.float64) * (length / size)
    whole = np.minimum(np.floor(edges).astype(np.intp), length - 1)
    share = np.take(values, whole, axis=-1) * (edges - whole).astype(np.float32)
    sums = np.add.reduceat(values, whole[:-1], axis=-1)
    within_one = whole[:-1] == whole[1:]  # stretching: both edges in one sample, whose shares make the whole sum
    within_one[-1] = False
    sums[..., within_one] = 0
    sums += share[..., 1:]
    sums[..., -1] -= share[..., -1]  # the last reduceat segment already runs to the end
    sums -= share[..., :-1]
    sums *= np.float32(size / length)
    return sums


def area_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Box-filter ``image`` [..., H, W] to [..., height, width]; meant for shrinking (it also stretches)."""
    reduced = area_along_last_axis(np.asarray(image), width)
    return np.swapaxes(area_along_last_axis(np.swapaxes(reduced, -1, -2), height), -1, -2).copy()


def bilinear_taps(source: int, target: int, start: int = 0, stop: int | None = None, block: int = 1):
    """Source indices and weights for output samples ``start:stop`` of a ``source`` -> ``target`` resize.

    Half-pixel centres (align_corners=False), edges clamped, as in PyTorch's and OpenCV's bilinear resize. With
    ``block`` > 1 each output sample stands for ``block`` consecutive target pixels, sampled at their centre
    (``ceil(target / block)`` samples).
    """
    stop = -(-target // block) if stop is None else stop
    centres = (np.arange(start, stop, dtype=np.float64) * block + block / 2) * (source / target) - 0.5
    centres = np.clip(centres, 0.0, source - 1)
    low = np.floor(centres).astype(np.intp)
    high = np.minimum(low + 1, source - 1)
    weight = (centres - low).astype(np.float32)
    return low, high, weight


def bilinear_columns(image: np.ndarray, width: int, block: int = 1) -> np.ndarray:
    """Resize the last axis of ``image`` [..., w] to ``width`` bilinearly (to its ``block``-pixel blocks' centres)."""
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    low, high, weight = bilinear_taps(image.shape[-1], width, block=block)
    base = np.take(image, low, axis=-1)  # np.take: three times faster than fancy indexing, and contiguous
    result = np.take(image, high, axis=-1)
    result -= base
    result *= weight
    result += base
    return result


def bilinear_rows(wide: np.ndarray, height: int, row_start: int, row_stop: int) -> np.ndarray:
    """Rows ``row_start:row_stop`` of ``wide`` [C, h, W] resized bilinearly to ``height`` rows.

    Callers resize columns first (on the few low-resolution rows), so that the full-resolution work here is whole-row
    copies and one multiply-add, not a per-pixel gather.
    """
    low, high, weight = bilinear_taps(wide.shape[1], height, row_start, row_stop)
    base = wide[:, low, :]
    return base + weight[None, :, None] * (wide[:, high, :] - base)


def bilinear_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Whole-image bilinear resize of [C, h, w] to [C, height, width]."""
    return bilinear_rows(bilinear_columns(image, width), height, 0, height)


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1) square around each pixel (the image's edge pixels repeated beyond it)."""
    padded = np.pad(values.astype(np.float64), radius, mode="edge")
    table = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    size = 2 * radius + 1
    height, width = values.shape
    total = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    return (total[:height, :width] / (size * size)).astype(np.float32)
