"""A photo prepared for the network, once: its layout checked, the render path chosen (a table for 8-bit photos,
per-pixel Lab otherwise), the render size resolved and L* measured at it. Colorizing, the uncertainty and a
reference's matching all start from the same ``Render``, so L* is measured once per photo and the render size is
decided in one place (``render_side``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import limits, render_paths
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.render_paths import LabPath, PixelLayout, Progress, TablePath
from gimp_plugin.core.session import ColorizationModel

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)


@dataclass(frozen=True)
class Render:
    """One photo as the network will see it."""

    pixels: np.ndarray  # the photo as given (gray, gray+alpha, RGB or RGBA)
    layout: PixelLayout
    path: LabPath | TablePath  # how L* is measured and the result written
    size: tuple[int, int]  # (height, width) the network runs at
    lightness: np.ndarray  # [h, w] L* at ``size``
    selection: np.ndarray | None  # [H, W] 0..1: how much of each pixel the result replaces (None: all of it)

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]


def render_side(model: ColorizationModel, render_size: int | None) -> int:
    """The longer side the network runs at: the one asked for, else the model's own default."""
    return render_size or model.info.default_render_size


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """Size the network runs at: longer side ``render_size``, never larger than the image itself."""
    scale = min(1.0, render_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def prepare(
    pixels: np.ndarray,
    model: ColorizationModel,
    *,
    render_size: int | None = None,
    selection: np.ndarray | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> Render:
    """Check ``pixels`` and ``selection`` (InputError in words), and measure L* at the render size."""
    layout = inspect_pixels(pixels)
    height, width = pixels.shape[:2]
    weight = check_selection(selection, (height, width))
    path = render_paths.choose(pixels, layout, threads or default_threads())
    size = render_shape(height, width, render_side(model, render_size))
    limits.check_render_memory(*size)
    lightness = path.measure(size, progress or (lambda fraction: None))
    return Render(pixels, layout, path, size, lightness, weight)


def inspect_pixels(pixels: np.ndarray) -> PixelLayout:
    """Check that ``pixels`` is an image the pipeline takes, and describe it; InputError otherwise."""
    if not isinstance(pixels, np.ndarray):
        raise InputError(f"expected a numpy array of pixels, got {type(pixels).__name__}")
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 2, 3, 4)):
        raise InputError(f"expected an H x W (x 1-4 channels) image, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    limits.check_pixel_count(width, height)
    if pixels.dtype.type not in SUPPORTED_DTYPES:
        raise InputError(f"unsupported pixel type {pixels.dtype}; use 8-bit, 16-bit or floating-point pixels")
    if np.issubdtype(pixels.dtype, np.floating):
        bad = pixels.size - int(np.count_nonzero(np.isfinite(pixels)))
        if bad:
            raise InputError(
                f"the image holds {bad} sample(s) that are not numbers (NaN or infinity); "
                "replace them (or save the image as 16-bit) first"
            )
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return PixelLayout(color_channels=1 if channels <= 2 else 3, has_alpha=channels in (2, 4), dtype=pixels.dtype)


def check_selection(selection: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The selection mask as float 0..1 of the photo's ``shape`` (None stays None); InputError otherwise."""
    if selection is None:
        return None
    selection = np.asarray(selection)
    if selection.shape != shape:
        raise InputError(f"the selection mask is {selection.shape}, the image is {shape}")
    if selection.dtype == np.uint8:
        return selection.astype(np.float32) / np.float32(255)
    if not np.issubdtype(selection.dtype, np.number) or not np.isfinite(selection).all():
        raise InputError("the selection mask holds values that are not numbers (NaN or infinity)")
    return np.clip(selection.astype(np.float32), 0.0, 1.0)


def pad_to_multiple(tensor: np.ndarray, multiple: int, mode: str) -> np.ndarray:
    """``tensor`` [..., h, w] padded at the bottom and right to a multiple of ``multiple`` (the network's)."""
    height, width = tensor.shape[-2:]
    pad = [(0, 0)] * (tensor.ndim - 2) + [(0, -height % multiple), (0, -width % multiple)]
    return np.pad(tensor, pad, mode=mode)


def default_threads() -> int:
    return min(4, os.cpu_count() or 1)
