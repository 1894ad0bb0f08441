"""Fast path for 8-bit gray photos, the everyday input: one table lookup per pixel instead of Lab arithmetic.

A gray 8-bit pixel's L* depends on its code v alone, so its output colour is a function of (v, a*, b*). Per image
this module tabulates that function over the a*/b* range the network predicted, with the same exact Lab -> sRGB
conversion and luminance-preserving gamut mapping as the general path; each full-resolution pixel then costs a
bilinear interpolation of two chroma planes and one lookup. The table's chroma step (1 to 2 units on usual photos,
below the ~2.3 units of a just-noticeable difference) is crossed with a 4x4 ordered dither, so the rounding averages
out instead of drawing bands. L* is exactly the general path's: it comes from v alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from . import color
from .resample import area_along_last_axis, bilinear_columns, bilinear_taps

TABLE_CELLS = 1 << 19  # (a*, b*, v) cells: 1.5 MB of RGB, built in a few milliseconds
_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 16.0)
# Thresholds in (0, 1): a value between two table steps takes the upper one in the share of pixels its fraction says.
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16
_WIDEN_ROWS = 32  # render rows per task when the chroma planes are widened to full width
LIGHTNESS_OF_U8 = color.luminance_to_lightness(color.LINEAR_OF_U8)


def gray_codes(pixels: np.ndarray, color_channels: int) -> np.ndarray | None:
    """The 8-bit gray plane of ``pixels`` when every pixel is gray (a gray image, or RGB with R = G = B), else None."""
    if pixels.dtype != np.uint8:
        return None
    if pixels.ndim == 2:
        return pixels
    if color_channels == 1:
        return pixels[..., 0]
    red = pixels[..., 0]
    for top in range(0, pixels.shape[0], 256):  # strip by strip: a colour photo is turned away at its first rows
        rows = slice(top, top + 256)
        if not (np.array_equal(red[rows], pixels[rows, :, 1]) and np.array_equal(red[rows], pixels[rows, :, 2])):
            return None
    return red


def lightness_sums(codes: np.ndarray, start: int, height: int, size: tuple[int, int]) -> tuple[int, np.ndarray]:
    """Exact area sums of L* over the render-size cells that image rows ``start:start + len(codes)`` touch.

    Returns (first cell row, sums [k, w]): L* integrated over the strip's rows and averaged across each cell's
    columns. Adding every strip's sums and dividing by the cell height (``height / h`` rows) gives the area mean.
    Rows go first, as a running sum down the strip: whole-row additions, much cheaper than sums along a row.
    """
    small_h, small_w = size
    rows = codes.shape[0]
    lightness = np.take(LIGHTNESS_OF_U8, codes)
    cumulative = np.zeros((rows + 1, codes.shape[1]), np.float32)  # a strip's sums stay far within float32's range
    for row in range(rows):  # row by row: ten times faster than np.cumsum(axis=0), which does not vectorise
        np.add(cumulative[row], lightness[row], out=cumulative[row + 1])
    cell = height / small_h
    first, last = int(start / cell), min(small_h, int(np.ceil((start + rows) / cell)))
    edges = np.clip(np.arange(first, last + 1) * cell - start, 0, rows)
    whole = np.minimum(np.floor(edges).astype(np.intp), rows - 1)
    fraction = (edges - whole).astype(np.float32)[:, None]
    integral = cumulative[whole] + fraction * (cumulative[whole + 1] - cumulative[whole])
    return first, area_along_last_axis(np.diff(integral, axis=0), small_w)


def _table_step(ranges: np.ndarray) -> float:
    for step in _STEPS:
        if 256 * np.prod(np.floor(ranges / step) + 3) <= TABLE_CELLS:
            return step
    return float(ranges.max() / 60)  # only a model that predicts far outside Lab's range gets here


def _tabulate(origin: np.ndarray, step: float, counts: np.ndarray, channels: int) -> np.ndarray:
    """8-bit RGB(A) [Na * Nb * 256, channels] of every (a*, b*, v) cell; alpha, if asked for, is left 0."""
    a = (origin[0] + step * np.arange(counts[0])).astype(np.float32)
    b = (origin[1] + step * np.arange(counts[1])).astype(np.float32)
    planes = color.lab_to_linear_in_gamut(LIGHTNESS_OF_U8[None, None, :], a[:, None, None], b[None, :, None])
    table = np.zeros((counts[0], counts[1], 256, channels), np.uint8)
    for channel, plane in enumerate(planes):
        table[..., channel] = color.linear_to_u8(plane)
    return table.reshape(-1, channels)


class GrayRenderer:
    """Colours gray codes with the network's chroma ab [2, h, w], upsampled to ``height`` x ``width``."""

    def __init__(self, ab_small: np.ndarray, saturation: float, height: int, width: int, channels: int,
                 strip_rows: int, threads: int = 1):  # fmt: skip
        ab = ab_small.astype(np.float32) * np.float32(saturation)
        low, high = ab.min(axis=(1, 2)).astype(np.float64), ab.max(axis=(1, 2)).astype(np.float64)
        self.step = _table_step(high - low)
        origin = np.floor(low / self.step) * self.step  # a multiple of the step: a* = b* = 0 is a table cell
        self.counts = (np.floor((high - origin) / self.step) + 2).astype(np.intp)
        units = (ab - origin.astype(np.float32)[:, None, None]) / np.float32(self.step)
        render_rows = ab.shape[1]
        self.wide = np.empty((2, render_rows, width), np.float32)  # [2, h, W] in table steps, >= 0
        self.rise = np.empty_like(self.wide)  # towards the next render row
        self.rows, _, weights = bilinear_taps(render_rows, height)
        self.weights = weights[:, None]
        tiles = (strip_rows // 4 + 2, -(-width // 4))
        self.dither = [np.tile(pattern, tiles)[:, :width] for pattern in (_BAYER, _BAYER.T)]
        # The table and the widened chroma are independent: build them side by side, in row chunks.
        tasks = [partial(self._widen, units[channel], channel, top, min(top + _WIDEN_ROWS, render_rows))
                 for channel in range(2) for top in range(0, render_rows, _WIDEN_ROWS)]  # fmt: skip
        tasks.append(partial(self._build_table, origin, channels))
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()

    def _build_table(self, origin: np.ndarray, channels: int) -> None:
        self.table = _tabulate(origin, self.step, self.counts, channels)

    def _widen(self, units: np.ndarray, channel: int, top: int, stop: int) -> None:
        """Render rows ``top:stop`` of one chroma plane, resized to full width, and their rise to the next row."""
        wide = bilinear_columns(units[top : min(stop + 1, units.shape[0])], self.wide.shape[2])
        self.wide[channel, top:stop] = wide[: stop - top]
        following = np.minimum(np.arange(1, stop - top + 1), len(wide) - 1)
        np.subtract(wide[following], wide[: stop - top], out=self.rise[channel, top:stop])

    def render(self, codes: np.ndarray, start: int, out: np.ndarray) -> None:
        """Colour ``codes`` (rows ``start:start + len(codes)`` of the image) into ``out`` [rows, W, channels]."""
        stop = start + codes.shape[0]
        rows, weights, phase = self.rows[start:stop], self.weights[start:stop], start % 4
        index = None
        for channel, dither in enumerate(self.dither):
            units = np.take(self.rise[channel], rows, axis=0)
            units *= weights
            units += np.take(self.wide[channel], rows, axis=0)
            units += dither[phase : phase + stop - start]
            cells = units.astype(np.int32)  # floor, as units >= 0
            if index is None:
                index = cells
            else:
                index *= self.counts[1]
                index += cells
        index *= 256  # (a multiply: numpy vectorises it, unlike the shift)
        index += codes
        np.take(self.table, index, axis=0, out=out, mode="clip")
