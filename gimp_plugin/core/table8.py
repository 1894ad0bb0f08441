"""Fast path for 8-bit photos, the everyday input: one table lookup per pixel instead of Lab arithmetic.

A gray 8-bit pixel's L* depends on its code v alone, so its output colour is a function of (v, a*, b*). Per image
this module tabulates that function over the a*/b* range the network predicted, with the same exact Lab -> sRGB
conversion and luminance-preserving gamut mapping as the general path; each full-resolution pixel then costs a
bilinear interpolation of two chroma planes and one lookup. The table's chroma step (1 to 2 units on usual photos,
below the ~2.3 units of a just-noticeable difference) is crossed with a 4x4 ordered dither, so the rounding averages
out instead of drawing bands. For gray codes L* is exactly the general path's: it comes from v alone. Colour 8-bit
photos (a sepia-toned scan) get the same table over L* coded in 256 even steps (``lightness_codes``): L* within
0.2 of the input's, finer than the 8-bit output itself resolves.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.resample import area_along_last_axis, bilinear_columns, bilinear_taps

TABLE_CELLS = 1 << 19  # (a*, b*, v) cells: 2 MB of RGB words (one core's L2 cache), built in a few milliseconds
_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 16.0)
# Thresholds in (0, 1): a value between two table steps takes the upper one in the share of pixels its fraction says.
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16
_WIDEN_ROWS = 32  # render rows per task when the chroma planes are widened to full width
# Upscaled this much or more, chroma moves by at most a quarter of a network pixel across two image pixels: it is
# then interpolated and dithered once per 2x2 block, and only the lookup runs per pixel.
BLOCK_MIN_SCALE = 4
LIGHTNESS_OF_U8 = color.luminance_to_lightness(color.LINEAR_OF_U8)
LIGHTNESS_OF_CODE = np.arange(256, dtype=np.float32) * np.float32(100 / 255)  # L* in 256 even steps
_Y_SCALE = 65535
# Y of each 8-bit channel value in 1/65535 units, so that a pixel's Y is three lookups and two integer additions.
_Y_OF_CHANNEL = [np.round(weight * color.LINEAR_OF_U8 * _Y_SCALE).astype(np.uint32) for weight in color.LUMA]
_LOOKUP_ROWS = 16  # rows per table lookup: its index array then stays in the core's cache


def _pair_table(values: np.ndarray) -> np.ndarray:
    """``values`` of every two adjacent 8-bit codes, read as one 16-bit index (in memory order): [65536] of 8 bytes."""
    first, second = np.arange(65536, dtype=np.uint16).view(np.uint8).reshape(-1, 2).T
    return np.stack([values[first], values[second]], axis=1).astype(np.float32).view(np.uint64).ravel()


_PAIR_TABLES = {id(values): _pair_table(values) for values in (LIGHTNESS_OF_U8, LIGHTNESS_OF_CODE)}


def lookup(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values[codes]`` as float32 for 8-bit ``codes`` [rows, W]: two pixels per lookup when the rows allow it (half
    the index traffic of a plain lookup, which limits this step), a few rows at a time."""
    out = np.empty(codes.shape, np.float32)
    pairs = _PAIR_TABLES.get(id(values)) if codes.shape[1] % 2 == 0 and codes.strides[1] == 1 else None
    for top in range(0, codes.shape[0], _LOOKUP_ROWS):
        rows = slice(top, top + _LOOKUP_ROWS)
        if pairs is None:
            np.take(values, codes[rows], out=out[rows])
        else:
            np.take(pairs, codes[rows].view(np.uint16), out=out[rows].view(np.uint64))
    return out


def lightness_codes(lightness: np.ndarray) -> np.ndarray:
    """L* in [0, 100] -> the nearest of the 256 codes of ``LIGHTNESS_OF_CODE``."""
    scaled = lightness * np.float32(255 / 100)
    scaled += np.float32(0.5)
    return np.clip(scaled, 0, 255, out=scaled).astype(np.uint8)


_CODE_OF_Y = lightness_codes(color.luminance_to_lightness(np.minimum(np.arange(_Y_SCALE + 3) / _Y_SCALE, 1.0)))


def colour_codes(rgb: np.ndarray) -> np.ndarray:
    """``lightness_codes`` of 8-bit sRGB pixels [..., 3 or more] (alpha ignored), through integer luminance."""
    luminance = np.take(_Y_OF_CHANNEL[0], rgb[..., 0])
    luminance += np.take(_Y_OF_CHANNEL[1], rgb[..., 1])
    luminance += np.take(_Y_OF_CHANNEL[2], rgb[..., 2])
    return np.take(_CODE_OF_Y, luminance)


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


def lightness_sums(
    codes: np.ndarray, start: int, height: int, size: tuple[int, int], lightness_of_code: np.ndarray = LIGHTNESS_OF_U8
) -> tuple[int, np.ndarray]:
    """Exact area sums of L* over the render-size cells that image rows ``start:start + len(codes)`` touch.

    Returns (first cell row, sums [k, w]): L* integrated over the strip's rows and averaged across each cell's
    columns. Adding every strip's sums and dividing by the cell height (``height / h`` rows) gives the area mean.
    Rows go first, as whole-row sums: much cheaper than sums along a row.
    """
    small_h, small_w = size
    rows = codes.shape[0]
    lightness = lookup(lightness_of_code, codes)
    cell = height / small_h
    first, last = int(start / cell), min(small_h, int(np.ceil((start + rows) / cell)))
    edges = np.clip(np.arange(first, last + 1) * cell - start, 0, rows)
    sums = np.empty((len(edges) - 1, codes.shape[1]), np.float32)
    for total, top, bottom in zip(sums, edges[:-1], edges[1:], strict=True):  # a cell is at least one row tall
        inner_top, inner_bottom = math.ceil(top), math.floor(bottom)
        np.add.reduce(lightness[inner_top:inner_bottom], axis=0, out=total)  # the rows wholly inside the cell
        if inner_top > top:  # the share of the row the cell starts in
            total += np.float32(inner_top - top) * lightness[inner_top - 1]
        if bottom > inner_bottom:  # and of the row it ends in
            total += np.float32(bottom - inner_bottom) * lightness[inner_bottom]
    return first, area_along_last_axis(sums, small_w)


def _table_step(ranges: np.ndarray) -> float:
    for step in _STEPS:
        if 256 * np.prod(np.floor(ranges / step) + 3) <= TABLE_CELLS:
            return step
    return float(ranges.max() / 60)  # only a model that predicts far outside Lab's range gets here


def _tabulate(
    origin: np.ndarray,
    step: float,
    counts: np.ndarray,
    lightness_of_code: np.ndarray,
    a_cells: range,
    table: np.ndarray,
) -> None:
    """Fill the 8-bit RGB ``table`` [Na, Nb, 256, 4] for a* cells ``a_cells``; the fourth byte stays 0."""
    a = (origin[0] + step * np.arange(a_cells.start, a_cells.stop)).astype(np.float32)
    b = (origin[1] + step * np.arange(counts[1])).astype(np.float32)
    planes = color.lab_to_linear_in_gamut(lightness_of_code[None, None, :], a[:, None, None], b[None, :, None])
    for channel, plane in enumerate(planes):
        table[a_cells.start : a_cells.stop, ..., channel] = color.linear_to_u8(plane)


class TableRenderer:
    """Colours 8-bit codes with the network's chroma ab [2, h, w], upsampled to ``height`` x ``width``.

    The codes are gray levels (L* of code v: ``LIGHTNESS_OF_U8``, the default) or ``lightness_codes`` of a colour
    photo's L* (``LIGHTNESS_OF_CODE``)."""

    def __init__(
        self,
        ab_small: np.ndarray,
        saturation: float,
        height: int,
        width: int,
        strip_rows: int,
        threads: int = 1,
        lightness_of_code: np.ndarray = LIGHTNESS_OF_U8,
    ):
        ab = ab_small.astype(np.float32) * np.float32(saturation)
        low, high = ab.min(axis=(1, 2)).astype(np.float64), ab.max(axis=(1, 2)).astype(np.float64)
        self.step = _table_step(high - low)
        origin = np.floor(low / self.step) * self.step  # a multiple of the step: a* = b* = 0 is a table cell
        self.counts = (np.floor((high - origin) / self.step) + 2).astype(np.intp)
        units = (ab - origin.astype(np.float32)[:, None, None]) / np.float32(self.step)
        render_rows = ab.shape[1]
        self.block = 2 if min(height / render_rows, width / ab.shape[2]) >= BLOCK_MIN_SCALE else 1
        self.width, block_columns = width, -(-width // self.block)
        self.wide = np.empty((2, render_rows, block_columns), np.float32)  # in table steps, >= 0
        self.rise = np.empty_like(self.wide)  # towards the next render row
        self.rows, _, weights = bilinear_taps(render_rows, height, block=self.block)
        self.weights = weights[:, None]
        tiles = (strip_rows // self.block // 4 + 2, -(-block_columns // 4))
        self.dither = [np.tile(pattern, tiles)[:, :block_columns] for pattern in (_BAYER, _BAYER.T)]
        # The table and the widened chroma are independent: build them side by side, in chunks.
        table = np.zeros((*self.counts, 256, 4), np.uint8)  # RGB plus a zero byte: one 32-bit word per cell
        half = -(-int(self.counts[0]) // 2)
        tasks = [
            partial(_tabulate, origin, self.step, self.counts, lightness_of_code, cells, table)
            for cells in (range(0, half), range(half, int(self.counts[0])))
        ]
        tasks += [
            partial(self._widen, units[channel], channel, top, min(top + _WIDEN_ROWS, render_rows))
            for channel in range(2)
            for top in range(0, render_rows, _WIDEN_ROWS)
        ]
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()
        self.table = table.reshape(-1, 4)
        self.words = self.table.view(np.uint32)[:, 0]

    def _widen(self, units: np.ndarray, channel: int, top: int, stop: int) -> None:
        """Render rows ``top:stop`` of one chroma plane, resized to full width, and their rise to the next row."""
        wide = bilinear_columns(units[top : min(stop + 1, units.shape[0])], self.width, self.block)
        self.wide[channel, top:stop] = wide[: stop - top]
        following = np.minimum(np.arange(1, stop - top + 1), len(wide) - 1)
        np.subtract(wide[following], wide[: stop - top], out=self.rise[channel, top:stop])

    def render(self, codes: np.ndarray, start: int, out: np.ndarray) -> None:
        """Colour ``codes`` (rows ``start:start + len(codes)`` of the image) into ``out`` [rows, W, 3 or 4]; a fourth
        channel is left 0 (the caller fills alpha)."""
        index = self._index(codes, start)
        if out.shape[-1] == 4 and out.strides[1:] == (4, 1):
            np.take(self.words, index, out=out.view(np.uint32)[..., 0], mode="clip")
        elif out.strides[1:] == (3, 1) and out.strides[0] == 3 * self.width:
            _write_packed(self.words, index, out)
        else:
            np.take(self.table[:, : out.shape[-1]], index, axis=0, out=out, mode="clip")

    def _index(self, codes: np.ndarray, start: int) -> np.ndarray:
        """Table cells of image rows ``start:start + len(codes)``: chroma cell * 256 + code, as int32 [rows, W]."""
        block, rows = self.block, codes.shape[0]
        first, stop = start // block, -(-(start + rows) // block)  # the blocks' rows this strip touches
        cells = self._cells(first, stop) * 256  # (a multiply: numpy vectorises it, unlike the shift)
        if block == 1:
            cells += codes
            return cells
        if start % block == 0 and rows % block == 0 and self.width % block == 0:  # the usual strip: one pass
            # Widened along rows first (np.repeat is a fast copy), so that the add runs over whole rows and not over
            # pairs of pixels, numpy's slowest inner loop.
            index = np.empty((rows, self.width), np.int32)
            wide_cells = np.repeat(cells, block, axis=1)
            np.add(
                wide_cells[:, None, :],
                codes.reshape(rows // block, block, self.width),
                out=index.reshape(rows // block, block, self.width),
            )
            return index
        # A strip or an image of odd size: spread the blocks over whole pixels, then trim
        spread = np.empty(((stop - first) * block, cells.shape[1] * block), np.int32)
        spread.reshape(stop - first, block, cells.shape[1], block)[:] = cells[:, None, :, None]
        index = spread[start - first * block :][:rows, : self.width]
        index += codes
        return index

    def _cells(self, first: int, stop: int) -> np.ndarray:
        """Table rows (a* cell * Nb + b* cell) of block rows ``first:stop``, interpolated and dithered."""
        rows, weights, phase = self.rows[first:stop], self.weights[first:stop], first % 4
        index = None
        for channel, dither in enumerate(self.dither):
            units = np.take(self.rise[channel], rows, axis=0)
            units *= weights
            units += np.take(self.wide[channel], rows, axis=0)
            units += dither[phase : phase + stop - first]
            cells = units.astype(np.int32)  # floor, as units >= 0
            if index is None:
                index = cells
            else:
                index *= self.counts[1]
                index += cells
        return index


def _write_packed(words: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:
    """``out`` [rows, W, 3] (rows contiguous) = the RGB bytes of ``words[index]``.

    numpy gathers 4-byte items about twice as fast as 3-byte ones, and a 3-byte-strided view of ``out`` as 32-bit
    words takes them at memory speed: each word's fourth byte spills onto the next pixel's first byte, which that
    pixel's own word then overwrites (numpy copies in increasing address order). The last column is copied apart, so
    nothing is written past the rows' last pixel (another thread's strip may begin there).
    """
    rows, width = index.shape
    packed = np.ndarray((rows, width - 1), np.uint32, buffer=out, strides=(out.strides[0], 3))
    gathered = np.empty((min(rows, _LOOKUP_ROWS), width), np.uint32)
    for top in range(0, rows, _LOOKUP_ROWS):
        chunk = gathered[: min(_LOOKUP_ROWS, rows - top)]
        np.take(words, index[top : top + _LOOKUP_ROWS], out=chunk, mode="clip")
        np.copyto(packed[top : top + len(chunk)], chunk[:, :-1])
        out[top : top + len(chunk), -1] = chunk[:, -1:].view(np.uint8)[:, :3]
