"""User color hints: where the user says which color a region has (Zhang et al. 2017 style).

A hint image is RGBA; every pixel with alpha > 0 is a hint whose a*, b* come from its sRGB color (its lightness is
ignored, since the photo's own L* is kept). Hints are resampled to the render size by area, weighted by coverage,
so a one-pixel dot on a large photo still marks its cell at render size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.resample import area_along_last_axis, area_resize

# A render-size cell is hinted when any hint pixel covers it; this only filters float round-off.
_COVERAGE_EPSILON = 1e-9
HINT_STRIP_ROWS = 256
HINT_BYTES_PER_PIXEL = 5  # the decoded 8-bit RGBA image, plus Pillow's transient copy of a row band


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


def _alpha_required(shape: tuple[int, ...]) -> InputError:
    channels = 1 if len(shape) == 2 else shape[2]
    kind = {1: "gray", 3: "RGB"}.get(channels, f"{channels}-channel")
    return InputError(
        f"a hint image needs an alpha channel (RGBA: transparent where there is no hint), and this one is {kind} "
        "without alpha. Paint the hints on a transparent layer and save it as PNG with transparency"
    )


def hints_from_rgba(image: np.ndarray, size: tuple[int, int] | None = None) -> Hints:
    """Hints from an RGBA (or gray+alpha) image: opaque pixels are hints, transparent ones are not.

    With ``size`` (height, width) the hints come out already reduced to it, by area, and the image is read in
    strips of rows, so a huge hint layer costs memory for its 8-bit pixels only, not for float copies of them."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        raise _alpha_required(image.shape)
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"unsupported hint image pixel type {image.dtype}")
    height, width = image.shape[:2]
    return reduce_strips(lambda top, bottom: image[top:bottom], height, width, size or (height, width))


def reduce_strips(strip_at, height: int, width: int, size: tuple[int, int]) -> Hints:
    """Hints reduced to ``size`` from ``strip_at(top, bottom)``, which hands over the RGBA or gray+alpha rows
    [top, bottom) of a ``height`` x ``width`` hint image: no more than one strip is ever held as float."""
    target_height, target_width = size
    planes = np.empty((3, height, target_width), np.float32)  # mask, a * mask, b * mask; at the target width
    for top in range(0, height, HINT_STRIP_ROWS):
        strip = color.to_unit_float(strip_at(top, min(height, top + HINT_STRIP_ROWS)))
        mask = (strip[..., -1] > 0).astype(np.float32)
        rgb = strip[..., :3] if strip.shape[2] == 4 else np.repeat(strip[..., :1], 3, axis=2)
        lab = color.rgb_to_lab(rgb)
        rows = slice(top, top + len(strip))
        for index, plane in enumerate((mask, lab[..., 1] * mask, lab[..., 2] * mask)):
            planes[index, rows] = area_along_last_axis(plane, target_width)
    planes = np.swapaxes(area_along_last_axis(np.swapaxes(planes, 1, 2), target_height), 1, 2)
    coverage = planes[0]
    covered = np.where(coverage > _COVERAGE_EPSILON, coverage, 1.0)
    ab = np.where(coverage > _COVERAGE_EPSILON, planes[1:] / covered, 0.0).astype(np.float32)
    return Hints(ab=ab, mask=np.ascontiguousarray(coverage))


def resample_hints(hints: Hints, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hints at render size: (hint_ab [2, h, w], hint_mask [h, w]); a cell's ab is its hints' coverage-weighted mean."""
    coverage = area_resize(hints.mask, height, width)
    weighted = area_resize(hints.ab * hints.mask, height, width)
    hinted = coverage > _COVERAGE_EPSILON
    ab = np.where(hinted, weighted / np.where(hinted, coverage, 1.0), 0.0).astype(np.float32)
    return ab, hinted.astype(np.float32)
