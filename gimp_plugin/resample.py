"""Separable resampling in numpy: exact area (box) reduction and half-pixel bilinear interpolation.

Area reduction uses cumulative sums, so it costs one pass over the image whatever the scale and never drops a
pixel: every source pixel contributes to the output in proportion to the area it covers.
"""

from __future__ import annotations

import numpy as np


def area_along_last_axis(values: np.ndarray, size: int) -> np.ndarray:
    """Box-filter the last axis of ``values`` to ``size`` samples."""
    length = values.shape[-1]
    if size == length:
        return values.astype(np.float32, copy=False)
    cumulative = np.zeros(values.shape[:-1] + (length + 1,), dtype=np.float64)
    np.cumsum(values, axis=-1, dtype=np.float64, out=cumulative[..., 1:])
    edges = np.arange(size + 1, dtype=np.float64) * (length / size)
    index = np.minimum(np.floor(edges).astype(np.intp), length - 1)
    fraction = edges - index
    integral = cumulative[..., index] + fraction * (cumulative[..., index + 1] - cumulative[..., index])
    return (np.diff(integral, axis=-1) * (size / length)).astype(np.float32)


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
