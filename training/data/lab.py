"""sRGB <-> CIE Lab in torch, the same formulas and constants as the runtime's ``gimp_plugin.core.color``.

The runtime's numpy code is the reference; tests check that both agree (and agree with scikit-image).
"""

from __future__ import annotations

import torch

from gimp_plugin.core import color

_RGB_TO_XYZ_N = torch.tensor(color.RGB_TO_XYZ / color.WHITE_D65[:, None], dtype=torch.float32)
_XYZ_N_TO_RGB = torch.tensor(color.XYZ_TO_RGB * color.WHITE_D65[None, :], dtype=torch.float32)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > color.EPSILON, t.clamp_min(color.EPSILON).pow(1 / 3), (color.KAPPA * t + 16) / 116)


def _f_inverse(f: torch.Tensor) -> torch.Tensor:
    cube = f * f * f
    return torch.where(cube > color.EPSILON, cube, (116 * f - 16) / color.KAPPA)


def srgb_to_linear(srgb: torch.Tensor) -> torch.Tensor:
    return torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)


def rgb_to_lab(srgb: torch.Tensor) -> torch.Tensor:
    """sRGB [N, 3, H, W] in [0, 1] -> Lab [N, 3, H, W]."""
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ_N.to(srgb), srgb_to_linear(srgb))
    fx, fy, fz = _f(xyz).unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab [N, 3, H, W] -> sRGB in [0, 1] (plain clipping: differentiable, for losses and previews)."""
    lightness, a, b = lab.unbind(1)
    fy = (lightness + 16) / 116
    xyz = torch.stack([_f_inverse(fy + a / 500), _f_inverse(fy), _f_inverse(fy - b / 200)], dim=1)
    linear = torch.einsum("ij,njhw->nihw", _XYZ_N_TO_RGB.to(lab), xyz)
    return linear_to_srgb(linear.clamp(0.0, 1.0))
