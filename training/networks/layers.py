"""What every generator is built from and sees: the ab unit, the normalised inputs, the conv-BN-ReLU block (which
``folding`` folds for export)."""

from __future__ import annotations

import torch
from torch import nn

AB_SCALE = 110.0  # a*, b* of sRGB colours stay within about +-110


def normalise_inputs(lightness, hint_ab, hint_mask) -> tuple[torch.Tensor, torch.Tensor]:
    """L to [-1, 1], hints to [-1, 1] with their mask: what every network sees."""
    return lightness / 50.0 - 1.0, torch.cat([hint_ab / AB_SCALE * hint_mask, hint_mask], dim=1)


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, dilation: int = 1):
        padding = dilation * (kernel // 2)
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel, stride, padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
