"""The colorization pipeline: pixels in, pixels out, luminance untouched.

DeOldify's idea: the network predicts chroma (a*, b*) at a modest render size; the full-resolution L* of the input
is kept exactly and only the upsampled chroma is added. Work on full-resolution data runs in strips of rows over a
thread pool (numpy releases the GIL), which bounds both time and memory on large photos. 8-bit gray photos (gray
images, or RGB with R = G = B) take the table-driven path of ``table8``, and so do other 8-bit photos (their L*
coded in 256 steps); 16-bit and float photos the general per-pixel Lab path here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import color, table8
from .errors import InputError
from .hints import Hints, resample_hints
from .model import ColorizationModel
from .resample import area_along_last_axis, bilinear_columns, bilinear_rows

MAX_PIXELS = 500_000_000  # 20000 x 25000; L alone then takes 2 GB
STRIP_ROWS = 128
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)

Progress = Callable[[float], None]

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


def inspect_pixels(pixels: np.ndarray) -> PixelLayout:
    """Check that ``pixels`` is an image the pipeline takes, and describe it; InputError otherwise."""
    if not isinstance(pixels, np.ndarray):
        raise InputError(f"expected a numpy array of pixels, got {type(pixels).__name__}")
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 2, 3, 4)):
        raise InputError(f"expected an H x W (x 1-4 channels) image, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    if height < 1 or width < 1:
        raise InputError(f"the image is empty ({width} x {height} pixels)")
    if height * width > MAX_PIXELS:
        raise InputError(
            f"the image is too large: {width} x {height} = {height * width / 1e6:.0f} MP, "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP; scale it down first"
        )
    if pixels.dtype.type not in SUPPORTED_DTYPES:
        raise InputError(f"unsupported pixel type {pixels.dtype}; use 8-bit, 16-bit or floating-point pixels")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return PixelLayout(color_channels=1 if channels <= 2 else 3, has_alpha=channels in (2, 4), dtype=pixels.dtype)


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


def _as_unit_float(plane: np.ndarray) -> np.ndarray:
    if plane.dtype == np.uint8:
        return plane.astype(np.float32) / np.float32(255)
    if plane.dtype == np.uint16:
        return plane.astype(np.float32) / np.float32(65535)
    return np.clip(plane.astype(np.float32), 0.0, 1.0)


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
    srgb = color.linear_to_srgb(linear)
    if dtype == np.uint16:
        return np.round(srgb * np.float32(65535)).astype(np.uint16)
    return srgb.astype(np.float32)


def _quantize(srgb: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.round(srgb * np.float32(255)).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(srgb * np.float32(65535)).astype(np.uint16)
    return srgb.astype(np.float32)


@dataclass
class _Job:
    pixels: np.ndarray
    layout: PixelLayout
    lightness: np.ndarray
    ab_wide: np.ndarray  # predicted ab at render height and full width
    saturation: float
    selection: np.ndarray | None
    output: np.ndarray


def _write_strip(job: _Job, start: int, stop: int) -> None:
    ab = bilinear_rows(job.ab_wide, job.lightness.shape[0], start, stop)
    if job.saturation != 1.0:
        ab *= np.float32(job.saturation)
    planes = color.lab_to_linear_in_gamut(job.lightness[start:stop], ab[0], ab[1])
    strip = job.output[start:stop]
    dtype = job.layout.dtype if job.layout.dtype in (np.uint8, np.uint16) else np.dtype(np.float32)
    if job.selection is None:
        for channel, plane in enumerate(planes):
            strip[..., channel] = _encode(plane, dtype)
    else:
        srgb = (color.linear_to_srgb(plane) for plane in planes)
        _blend_selection(strip, job.pixels[start:stop], job.layout, job.selection[start:stop], srgb, dtype)
    if job.layout.has_alpha:
        strip[..., 3] = job.pixels[start:stop, :, -1]


def _blend_selection(
    strip: np.ndarray, source: np.ndarray, layout: PixelLayout, weight: np.ndarray, srgb: Iterable[np.ndarray],
    dtype: np.dtype,
) -> None:  # fmt: skip
    """Write the colorized ``srgb`` planes (in [0, 1], one per channel, each read before its channel is written)
    into ``strip``, blended with the input ``source`` through the selection ``weight``: 0 keeps the input exactly."""
    planes = _planes(source, layout)
    for channel, colorized in enumerate(srgb):
        original = _as_unit_float(planes[min(channel, len(planes) - 1)])
        strip[..., channel] = _quantize(original + weight * (colorized - original), dtype)


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


def _check_selection(selection: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if selection is None:
        return None
    selection = np.asarray(selection)
    if selection.shape != shape:
        raise InputError(f"the selection mask is {selection.shape}, the image is {shape}")
    if selection.dtype == np.uint8:
        return selection.astype(np.float32) / np.float32(255)
    return np.clip(selection.astype(np.float32), 0.0, 1.0)


def _run_strips(function, rows: int, threads: int, progress: Progress, start: float, end: float) -> None:
    bounds = [(top, min(top + STRIP_ROWS, rows)) for top in range(0, rows, STRIP_ROWS)]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for done, _ in enumerate(pool.map(lambda span: function(*span), bounds), start=1):
            progress(start + (end - start) * done / len(bounds))


def _lightness(pixels: np.ndarray, layout: PixelLayout, size: tuple[int, int], threads: int, report: Progress):
    """L* at full size and box-filtered to ``size``."""
    height, width = pixels.shape[:2]
    lightness = np.empty((height, width), np.float32)
    narrow = np.empty((height, size[1]), np.float32)  # L box-filtered to render width, strip by strip

    def measure(start: int, stop: int) -> None:
        lightness[start:stop] = color.luminance_to_lightness(_luminance(pixels[start:stop], layout))
        narrow[start:stop] = area_along_last_axis(lightness[start:stop], size[1])

    _run_strips(measure, height, threads, report, 0.0, 0.25)
    return lightness, area_along_last_axis(narrow.T, size[0]).T


def _coded_lightness(
    pixels: np.ndarray, gray_levels: np.ndarray | None, size: tuple[int, int], threads: int, report: Progress
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(8-bit L* codes at full size, the L* of each code, L* box-filtered to ``size``). The codes are an 8-bit gray
    photo's own levels (``gray_levels``), else the ``table8.colour_codes`` of the 8-bit colour ``pixels``."""
    codes = gray_levels if gray_levels is not None else np.empty(pixels.shape[:2], np.uint8)
    lightness_of_code = table8.LIGHTNESS_OF_U8 if gray_levels is not None else table8.LIGHTNESS_OF_CODE
    parts = []  # (first cell row, sums) per strip; list.append is thread-safe

    def measure(start: int, stop: int) -> None:
        if gray_levels is None:
            codes[start:stop] = table8.colour_codes(pixels[start:stop])
        parts.append(table8.lightness_sums(codes[start:stop], start, codes.shape[0], size, lightness_of_code))

    _run_strips(measure, codes.shape[0], threads, report, 0.0, 0.25)
    small = np.zeros(size, np.float32)
    for first, sums in parts:
        small[first : first + len(sums)] += sums
    return codes, lightness_of_code, small / np.float32(codes.shape[0] / size[0])


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
    if saturation < 0:
        raise InputError(f"saturation must be 0 or more, got {saturation}")
    height, width = pixels.shape[:2]
    weight = _check_selection(selection, (height, width))
    threads = threads or _default_threads()
    report = progress or (lambda fraction: None)

    small_h, small_w = render_shape(height, width, render_size or model.info.default_render_size)
    # 8-bit photos (the usual case) take the table-driven path, with their gray levels as the table's L* codes when
    # they are gray; 16-bit and float photos the general one.
    table_path = layout.dtype == np.uint8
    gray_levels = table8.gray_codes(pixels, layout.color_channels) if table_path else None
    lightness = codes = None
    if table_path:
        codes, lightness_of_code, lightness_small = _coded_lightness(
            pixels, gray_levels, (small_h, small_w), threads, report
        )
    else:
        lightness, lightness_small = _lightness(pixels, layout, (small_h, small_w), threads, report)
    hint_arrays = resample_hints(hints, small_h, small_w) if hints is not None else None
    clock.lap("convert")
    ab_small = predict_chroma(model, lightness_small, hint_arrays)
    clock.lap("infer")
    report(0.6)

    dtype = layout.dtype if layout.dtype in (np.uint8, np.uint16) else np.dtype(np.float32)
    output = np.empty((height, width, layout.output_channels), dtype)
    if codes is not None:
        renderer = table8.TableRenderer(ab_small, saturation, height, width, STRIP_ROWS, threads, lightness_of_code)

        def write(start: int, stop: int) -> None:
            renderer.render(codes[start:stop], start, output[start:stop])
            if weight is not None:  # the table's colours, read back as sRGB, blended with the input
                strip = output[start:stop]
                srgb = (strip[..., channel] / np.float32(255) for channel in range(3))
                _blend_selection(strip, pixels[start:stop], layout, weight[start:stop], srgb, np.dtype(np.uint8))
            if layout.has_alpha:
                output[start:stop, :, 3] = pixels[start:stop, :, -1]
    else:
        job = _Job(pixels, layout, lightness, bilinear_columns(ab_small.astype(np.float32), width),
                   float(saturation), weight, output)  # fmt: skip

        def write(start: int, stop: int) -> None:
            _write_strip(job, start, stop)

    _run_strips(write, height, threads, report, 0.6, 1.0)
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
