"""User color hints: where the user says which color a region has (Zhang et al. 2017 style).

A hint image is RGBA; every pixel with alpha > 0 is a hint whose a*, b* come from its sRGB color (its lightness is
ignored, since the photo's own L* is kept). Hints are resampled to the render size by area, weighted by coverage,
so a one-pixel dot on a large photo still marks its cell at render size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import color
from .errors import InputError
from .resample import area_resize

# A render-size cell is hinted when any hint pixel covers it; this only filters float round-off.
_COVERAGE_EPSILON = 1e-9


@dataclass(frozen=True)
class Hints:
    """Hint chroma ab [2, H, W] (Lab units) and mask [H, W] (0..1), at any resolution."""

    ab: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        if self.ab.ndim != 3 or self.ab.shape[0] != 2 or self.ab.shape[1:] != self.mask.shape:
            raise InputError(f"hints need ab [2, H, W] and mask [H, W]; got {self.ab.shape} and {self.mask.shape}")

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))


def _unit_float(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535
    if np.issubdtype(pixels.dtype, np.floating):
        return np.clip(pixels.astype(np.float32), 0.0, 1.0)
    raise InputError(f"unsupported hint image pixel type {pixels.dtype}")


def hints_from_rgba(image: np.ndarray) -> Hints:
    """Hints from an RGBA (or gray+alpha) image: opaque pixels are hints, transparent ones are not."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        shape = "x".join(map(str, image.shape))
        raise InputError(
            f"a hint image needs an alpha channel (RGBA): transparent where there is no hint, got {shape} pixels. "
            "Paint the hints on a transparent layer and save it as PNG with transparency"
        )
    pixels = _unit_float(image)
    mask = (pixels[..., -1] > 0).astype(np.float32)
    rgb = pixels[..., :3] if image.shape[2] == 4 else np.repeat(pixels[..., :1], 3, axis=2)
    ab = np.moveaxis(color.rgb_to_lab(rgb)[..., 1:], -1, 0) * mask
    return Hints(ab=ab.astype(np.float32), mask=mask)


def resample_hints(hints: Hints, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hints at render size: (hint_ab [2, h, w], hint_mask [h, w]); a cell's ab is its hints' coverage-weighted mean."""
    coverage = area_resize(hints.mask, height, width)
    weighted = area_resize(hints.ab * hints.mask, height, width)
    hinted = coverage > _COVERAGE_EPSILON
    ab = np.where(hinted, weighted / np.where(hinted, coverage, 1.0), 0.0).astype(np.float32)
    return ab, hinted.astype(np.float32)
