"""Losses: chroma L1, a colorfulness term (DDColor), a perceptual term, and the hinge GAN losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .lab import lab_to_rgb
from .models import AB_SCALE


def chroma_l1(predicted_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    return (predicted_ab - true_ab).abs().mean() / AB_SCALE


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colorfulness of each image in a batch [N, 3, H, W] of sRGB in [0, 1],
    in the usual 0..255 units (real photos average about 40-50)."""
    red, green, blue = (rgb * 255).unbind(1)
    rg = (red - green).flatten(1)
    yb = (0.5 * (red + green) - blue).flatten(1)
    spread = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + 1e-6)
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2 + 1e-6)
    return spread + 0.3 * mean


def colorfulness_shortfall(lightness, predicted_ab, true_ab, pool: int = 4) -> torch.Tensor:
    """How far each prediction falls short of its photo's colorfulness (0 when as colorful or more), / 100.

    Plain L1 regression averages plausible colors to brown; this term pushes back only when the result is duller
    than the truth, so it cannot reward arbitrary over-saturation. Both images are box-filtered by ``pool`` first:
    otherwise the cheapest way to raise colorfulness is high-frequency chroma noise, which a first run learned."""

    def pooled_colorfulness(ab):
        return colorfulness(F.avg_pool2d(lab_to_rgb(torch.cat([lightness, ab], dim=1)), pool))

    predicted = pooled_colorfulness(predicted_ab)
    with torch.no_grad():
        target = pooled_colorfulness(true_ab)
    return F.relu(target - predicted).mean() / 100


def perceptual(features, lightness, predicted_ab, true_ab) -> torch.Tensor:
    """L1 between a frozen network's feature maps of the predicted and the true color image."""
    predicted = lab_to_rgb(torch.cat([lightness, predicted_ab], dim=1)) * 2 - 1
    with torch.no_grad():
        targets = features(lab_to_rgb(torch.cat([lightness, true_ab], dim=1)) * 2 - 1)
    return sum((p - t).abs().mean() for p, t in zip(features(predicted), targets, strict=True)) / len(targets)


def discriminator_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def generator_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()
