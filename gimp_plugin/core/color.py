"""Exact sRGB (D65) <-> CIE L*a*b* conversion in float32, vectorised numpy.

The training side uses the same functions (through ``training.data.photos``), so the model sees exactly the Lab values
the runtime computes.
"""

from __future__ import annotations

import numpy as np

# sRGB primaries to CIE XYZ, D65 white (IEC 61966-2-1), and the 2-degree D65 white point used by scikit-image.
RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float64,
)
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)

# CIE constants: above EPSILON the cube root applies, below it the linear segment.
EPSILON = 216.0 / 24389.0
KAPPA = 24389.0 / 27.0

# Luminance weights: the middle row of RGB_TO_XYZ. Y of linear RGB, and so L*, depends on these alone.
LUMA = RGB_TO_XYZ[1].astype(np.float32)

_RGB_TO_XYZ_N = (RGB_TO_XYZ / WHITE_D65[:, None]).astype(np.float32)
_XYZ_N_TO_RGB = (XYZ_TO_RGB * WHITE_D65[None, :]).astype(np.float32)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Gamma-decode sRGB values in [0, 1] to linear light."""
    srgb = np.asarray(srgb, dtype=np.float32)
    low = srgb / np.float32(12.92)
    high = ((np.maximum(srgb, 0.04045) + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4)
    return np.where(srgb <= 0.04045, low, high).astype(np.float32, copy=False)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Gamma-encode linear light in [0, 1] to sRGB."""
    linear = np.asarray(linear, dtype=np.float32)
    low = linear * np.float32(12.92)
    high = np.float32(1.055) * np.maximum(linear, 0.0031308) ** np.float32(1 / 2.4) - np.float32(0.055)
    return np.where(linear <= 0.0031308, low, high).astype(np.float32, copy=False)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > EPSILON, np.cbrt(t), (np.float32(KAPPA) * t + 16) / 116).astype(np.float32, copy=False)


def _f_inverse(f: np.ndarray) -> np.ndarray:
    cube = f * f * f
    if f.size and f.min() > 6 / 29:  # nothing on the linear segment: skip the select (a hot path at full size)
        return cube.astype(np.float32, copy=False)
    return np.where(cube > EPSILON, cube, (116 * f - 16) / np.float32(KAPPA)).astype(np.float32, copy=False)


def luminance_to_lightness(y: np.ndarray) -> np.ndarray:
    """CIE L* in [0, 100] from relative luminance Y in [0, 1]."""
    return 116 * _f(np.asarray(y, dtype=np.float32)) - 16


def lightness_to_luminance(lightness: np.ndarray) -> np.ndarray:
    """Relative luminance Y from CIE L*."""
    return _f_inverse((np.asarray(lightness, dtype=np.float32) + 16) / 116)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear RGB [..., 3] to Lab [..., 3]."""
    xyz = np.asarray(linear, dtype=np.float32) @ _RGB_TO_XYZ_N.T
    fx, fy, fz = (_f(xyz[..., i]) for i in range(3))
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=-1)


def rgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1], shape [..., 3], to CIE Lab (D65), float32."""
    return linear_to_lab(srgb_to_linear(srgb))


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """Lab [..., 3] to linear RGB [..., 3], not clipped (may leave the gamut)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200
    xyz_n = np.stack([_f_inverse(fx), _f_inverse(fy), _f_inverse(fz)], axis=-1)
    return xyz_n @ _XYZ_N_TO_RGB.T


def clip_to_gamut(linear: np.ndarray, luminance: np.ndarray) -> np.ndarray:
    """Pull out-of-gamut colours towards the gray of equal luminance until they fit in [0, 1].

    Plain clipping would change L* wherever a prediction leaves the gamut; moving along the line to the gray of the
    same Y keeps luminance (so L*) exactly and the hue nearly so, and only lowers chroma.
    """
    gray = np.clip(luminance, 0.0, 1.0)[..., None]
    offset = linear - gray
    with np.errstate(divide="ignore", invalid="ignore"):
        room_up = np.where(offset > 0, (1 - gray) / offset, np.inf)
        room_down = np.where(offset < 0, gray / -offset, np.inf)
    scale = np.minimum(np.minimum(room_up, room_down).min(axis=-1, keepdims=True), 1.0)
    return np.clip(gray + offset * scale, 0.0, 1.0)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab [..., 3] to sRGB in [0, 1], with luminance-preserving gamut mapping."""
    lab = np.asarray(lab, dtype=np.float32)
    linear = lab_to_linear(lab)
    return linear_to_srgb(clip_to_gamut(linear, lightness_to_luminance(lab[..., 0])))


def lab_to_linear_in_gamut(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """Lab planes -> in-gamut linear RGB planes whose luminance equals that of ``lightness``."""
    fy = (lightness + np.float32(16)) / np.float32(116)
    y = _f_inverse(fy)
    x = _f_inverse(fy + a / np.float32(500)) * np.float32(WHITE_D65[0])
    z = _f_inverse(fy - b / np.float32(200)) * np.float32(WHITE_D65[2])
    matrix = XYZ_TO_RGB.astype(np.float32)
    planes = [matrix[row, 0] * x + matrix[row, 1] * y + matrix[row, 2] * z for row in range(3)]
    low = np.minimum(np.minimum(planes[0], planes[1]), planes[2])
    high = np.maximum(np.maximum(planes[0], planes[1]), planes[2])
    if low.min() < 0 or high.max() > 1:
        # clip_to_gamut, planar: the brightest and darkest channel bound how far to move towards gray.
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.minimum(
                np.where(high > 1, (1 - y) / (high - y), np.float32(1)),
                np.where(low < 0, y / (y - low), np.float32(1)),
            )
        for plane in planes:
            plane -= y
            plane *= scale
            plane += y
            np.clip(plane, 0.0, 1.0, out=plane)
    return planes


def rgb_to_lightness(srgb: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB pixels [..., 3] in [0, 1], without computing a* and b*."""
    return luminance_to_lightness(srgb_to_linear(srgb) @ LUMA)


def gray_to_lightness(gray: np.ndarray) -> np.ndarray:
    """CIE L* of gray sRGB values in [0, 1] (R = G = B, so Y is the decoded value itself)."""
    return luminance_to_lightness(srgb_to_linear(gray))


LINEAR_OF_U8 = srgb_to_linear(np.arange(256, dtype=np.float32) / 255)
# Linear light quantised to 16 bits -> 8-bit sRGB: the encoder's slope is at most 12.92, so the table is exact to
# within 0.05 of an 8-bit level.
_ENCODE_U8 = np.round(linear_to_srgb(np.arange(65536, dtype=np.float32) / 65535) * 255).astype(np.uint8)


def linear_to_u8(linear: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to 8-bit sRGB codes, through a 16-bit table (faster than the power function)."""
    return _ENCODE_U8[(linear * np.float32(65535) + np.float32(0.5)).astype(np.uint16)]


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """Stored samples (8-bit, 16-bit or float) as float32 in [0, 1]; NaN counts as 0."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / np.float32(65535)
    return np.clip(np.nan_to_num(pixels.astype(np.float32), nan=0.0), 0.0, 1.0)


def from_unit_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float values in [0, 1] as samples of ``dtype``: 8-bit and 16-bit rounded (and clipped), float as float32."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.round(np.clip(values, 0, 1) * np.float32(255)).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(np.clip(values, 0, 1) * np.float32(65535)).astype(np.uint16)
    return np.asarray(values, dtype=np.float32)
