"""The two ways a photo goes through the pipeline, each as measure (L* at the render size) and write (the full-size
result from the predicted chroma). Work on full-resolution data runs in strips of rows over a thread pool (numpy
releases the GIL), which bounds both time and memory on large photos.

- ``TablePath``, for every 8-bit photo: L* as 8-bit codes (a gray photo's own levels, else L* coded in 256 even
  steps), and the output color of each (code, a*, b*) tabulated once per image (``table8``).
- ``LabPath``, for 16-bit and float photos: L* per pixel in float, and the exact Lab -> sRGB per pixel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import color, table8
from gimp_plugin.core.resample import area_along_last_axis, area_resize, bilinear_columns, bilinear_rows

STRIP_ROWS = 128
Progress = Callable[[float], None]
MEASURE_SHARE = 0.25  # of the progress bar; the network runs up to 0.6, writing takes the rest

_LINEAR_U16 = color.srgb_to_linear(np.arange(65536, dtype=np.float32) / 65535)


@dataclass(frozen=True)
class PixelLayout:
    """How an input array holds its pixels."""

    color_channels: int  # 1 (gray) or 3 (RGB)
    has_alpha: bool
    dtype: np.dtype

    @property
    def output_channels(self) -> int:
        return 4 if self.has_alpha else 3

    @property
    def output_dtype(self) -> np.dtype:
        return self.dtype if self.dtype in (np.uint8, np.uint16) else np.dtype(np.float32)


def run_strips(function, rows: int, threads: int, progress: Progress, start: float, end: float) -> None:
    bounds = [(top, min(top + STRIP_ROWS, rows)) for top in range(0, rows, STRIP_ROWS)]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, _ in enumerate(pool.map(lambda span: function(*span), bounds), start=1):
            progress(start + (end - start) * done / len(bounds))


def _planes(strip: np.ndarray, layout: PixelLayout) -> list[np.ndarray]:
    if strip.ndim == 2:
        return [strip]
    return [strip[..., channel] for channel in range(layout.color_channels)]


def _decode(plane: np.ndarray) -> np.ndarray:
    """One channel of sRGB in its stored type -> linear light, float32."""
    if plane.dtype == np.uint8:
        return color.LINEAR_OF_U8[plane]
    if plane.dtype == np.uint16:
        return _LINEAR_U16[plane]
    return color.srgb_to_linear(np.clip(plane.astype(np.float32), 0.0, 1.0))


def _luminance(strip: np.ndarray, layout: PixelLayout) -> np.ndarray:
    planes = [_decode(plane) for plane in _planes(strip, layout)]
    if len(planes) == 1:
        return planes[0]
    red, green, blue = planes
    weight_r, weight_g, weight_b = color.LUMA
    return red * weight_r + green * weight_g + blue * weight_b


def _encode(linear: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return color.linear_to_u8(linear)
    return color.from_unit_float(color.linear_to_srgb(linear), dtype)


def blend_selection(
    strip: np.ndarray,
    source: np.ndarray,
    layout: PixelLayout,
    weight: np.ndarray,
    srgb: Iterable[np.ndarray],
    dtype: np.dtype,
) -> None:
    """Write the colorized ``srgb`` planes (in [0, 1], one per channel, each read before its channel is written)
    into ``strip``, blended with the input ``source`` through the selection ``weight``: 0 keeps the input exactly."""
    planes = _planes(source, layout)
    for channel, colorized in enumerate(srgb):
        original = color.to_unit_float(planes[min(channel, len(planes) - 1)])
        strip[..., channel] = color.from_unit_float(original + weight * (colorized - original), dtype)


class LabPath:
    """16-bit and float photos: L* per pixel, the exact Lab -> sRGB conversion per pixel."""

    def __init__(self, pixels: np.ndarray, layout: PixelLayout, threads: int):
        self.pixels, self.layout, self.threads = pixels, layout, threads
        self.lightness: np.ndarray | None = None

    def measure(self, size: tuple[int, int], report: Progress) -> np.ndarray:
        """L* at full size (kept) and box-filtered to ``size`` (returned)."""
        height, width = self.pixels.shape[:2]
        self.lightness = np.empty((height, width), np.float32)
        narrow = np.empty((height, size[1]), np.float32)  # L box-filtered to render width, strip by strip

        def measure_strip(start: int, stop: int) -> None:
            self.lightness[start:stop] = color.luminance_to_lightness(_luminance(self.pixels[start:stop], self.layout))
            narrow[start:stop] = area_along_last_axis(self.lightness[start:stop], size[1])

        run_strips(measure_strip, height, self.threads, report, 0.0, MEASURE_SHARE)
        return area_along_last_axis(narrow.T, size[0]).T

    def lightness_at(self, size: tuple[int, int]) -> np.ndarray:
        """L* box-filtered to ``size``, after ``measure``."""
        return area_resize(self.lightness, *size)

    def write(self, ab_small: np.ndarray, saturation: float, weight: np.ndarray | None, report: Progress):
        """The result: chroma upsampled bilinearly, joined with the full-size L*, gamut-mapped, encoded."""
        pixels, layout, lightness = self.pixels, self.layout, self.lightness
        height, width = pixels.shape[:2]
        output = np.empty((height, width, layout.output_channels), layout.output_dtype)
        ab_wide = bilinear_columns(ab_small.astype(np.float32), width)  # render height, full width

        def write_strip(start: int, stop: int) -> None:
            ab = bilinear_rows(ab_wide, height, start, stop)
            if saturation != 1.0:
                ab *= np.float32(saturation)
            planes = color.lab_to_linear_in_gamut(lightness[start:stop], ab[0], ab[1])
            strip = output[start:stop]
            if weight is None:
                for channel, plane in enumerate(planes):
                    strip[..., channel] = _encode(plane, layout.output_dtype)
            else:
                srgb = (color.linear_to_srgb(plane) for plane in planes)
                blend_selection(strip, pixels[start:stop], layout, weight[start:stop], srgb, layout.output_dtype)
            if layout.has_alpha:
                strip[..., 3] = pixels[start:stop, :, -1]

        run_strips(write_strip, height, self.threads, report, 0.6, 1.0)
        return output


class TablePath:
    """8-bit photos: L* as 8-bit codes, each output color looked up in a table made once per image."""

    def __init__(self, pixels: np.ndarray, layout: PixelLayout, threads: int):
        self.pixels, self.layout, self.threads = pixels, layout, threads
        # A gray photo's own levels are its codes; a colour photo's L* is coded in 256 even steps.
        self.gray_levels = table8.gray_codes(pixels, layout.color_channels)
        self.lightness_of_code = table8.LIGHTNESS_OF_U8 if self.gray_levels is not None else table8.LIGHTNESS_OF_CODE
        self.codes: np.ndarray | None = None

    def measure(self, size: tuple[int, int], report: Progress) -> np.ndarray:
        """The 8-bit L* codes at full size (kept), and L* box-filtered to ``size`` (returned)."""
        gray_levels = self.gray_levels
        codes = gray_levels if gray_levels is not None else np.empty(self.pixels.shape[:2], np.uint8)
        self.codes = codes
        return self._area_lightness(size, report, None if gray_levels is not None else self.pixels)

    def lightness_at(self, size: tuple[int, int]) -> np.ndarray:
        """L* box-filtered to ``size``, after ``measure``."""
        return self._area_lightness(size, lambda fraction: None)

    def _area_lightness(self, size: tuple[int, int], report: Progress, colour: np.ndarray | None = None):
        """L* of the codes box-filtered to ``size``; with ``colour`` (an 8-bit colour photo), its codes are made
        from it on the way."""
        codes, parts = self.codes, []  # (first cell row, sums) per strip; list.append is thread-safe

        def measure_strip(start: int, stop: int) -> None:
            if colour is not None:
                codes[start:stop] = table8.colour_codes(colour[start:stop])
            sums = table8.lightness_sums(codes[start:stop], start, codes.shape[0], size, self.lightness_of_code)
            parts.append(sums)

        run_strips(measure_strip, codes.shape[0], self.threads, report, 0.0, MEASURE_SHARE)
        small = np.zeros(size, np.float32)
        for first, sums in parts:
            small[first : first + len(sums)] += sums
        return small / np.float32(codes.shape[0] / size[0])

    def write(self, ab_small: np.ndarray, saturation: float, weight: np.ndarray | None, report: Progress):
        """The result from the table; a selection blends the table's colours, read back as sRGB, with the input."""
        pixels, layout, codes = self.pixels, self.layout, self.codes
        height, width = pixels.shape[:2]
        output = np.empty((height, width, layout.output_channels), np.uint8)
        renderer = table8.TableRenderer(
            ab_small, saturation, height, width, STRIP_ROWS, self.threads, self.lightness_of_code
        )

        def write_strip(start: int, stop: int) -> None:
            renderer.render(codes[start:stop], start, output[start:stop])
            if weight is not None:
                strip = output[start:stop]
                srgb = (strip[..., channel] / np.float32(255) for channel in range(3))
                blend_selection(strip, pixels[start:stop], layout, weight[start:stop], srgb, np.dtype(np.uint8))
            if layout.has_alpha:
                output[start:stop, :, 3] = pixels[start:stop, :, -1]

        run_strips(write_strip, height, self.threads, report, 0.6, 1.0)
        return output


def choose(pixels: np.ndarray, layout: PixelLayout, threads: int) -> TablePath | LabPath:
    """8-bit photos (the usual case) take the table path; 16-bit and float photos the Lab path."""
    return (TablePath if layout.dtype == np.uint8 else LabPath)(pixels, layout, threads)
