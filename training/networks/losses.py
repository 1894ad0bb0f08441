"""Losses: chroma L1 or Euclidean distance, a colorfulness term (DDColor), a perceptual term, hinge GAN losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from training.data.lab import lab_to_rgb
from training.networks.layers import AB_SCALE


def chroma_l1(predicted_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    return (predicted_ab - true_ab).abs().mean() / AB_SCALE


def chroma_euclidean(predicted_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean ab distance per pixel (smoothed within 0.01 units of zero), in units of AB_SCALE.

    This is the error whose distribution colorize-eval's AuC integrates. L1 is minimised by the median of a* and of
    b* separately, this by the geometric median of the plausible colours. On the same error it is about 1.5x
    chroma_l1 (a norm against the mean of |a|, |b|), so a colorfulness weight tuned for L1 counts for less here.
    """
    squared = (predicted_ab - true_ab).square().sum(dim=1)
    return torch.sqrt(squared + 1e-4).mean() / AB_SCALE


CHROMA_LOSSES = {"l1": chroma_l1, "euclidean": chroma_euclidean}


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colorfulness of each image in a batch [N, 3, H, W] of sRGB in [0, 1],
    in the usual 0..255 units (real photos average about 40-50)."""
    red, green, blue = (rgb * 255).unbind(1)
    rg = (red - green).flatten(1)
    yb = (0.5 * (red + green) - blue).flatten(1)
    spread = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + 1e-6)
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2 + 1e-6)
    return spread + 0.3 * mean


def chroma_shortfall(predicted_ab: torch.Tensor, true_ab: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """How far the predicted chroma falls short of the true chroma, cell by cell (0 where it is as strong or
    stronger), in units of AB_SCALE. Our colorfulness term (after DDColor's).

    L1 regression averages plausible colors to brown; this pushes chroma up only where the photo itself is
    colorful, and never rewards color beyond the truth's. Two earlier forms were gamed: a global colorfulness
    (Hasler) target on the whole image learned high-frequency chroma noise, and, pooled, a saturated stripe at the
    image edge that the network can locate through zero padding; a per-cell comparison gives neither any reward.
    """
    predicted = F.avg_pool2d(torch.linalg.vector_norm(predicted_ab, dim=1, keepdim=True), pool)
    target = F.avg_pool2d(torch.linalg.vector_norm(true_ab, dim=1, keepdim=True), pool)
    return F.relu(target - predicted).mean() / AB_SCALE


def aligned_shortfall(predicted_ab: torch.Tensor, true_ab: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """How far the predicted chroma, measured along the true hue, falls short of the true chroma, cell by cell.

    ``chroma_shortfall`` credits any hue of the right strength, so where the hue is uncertain it pushes the
    network's own guess outward: a vivid wrong hue. Projected on the true hue, the push averages over the hues the
    network cannot tell apart: strong where one hue is likely, little where several are (restraint when unsure).
    """
    predicted = F.avg_pool2d(predicted_ab, pool)
    target = F.avg_pool2d(true_ab, pool)
    strength = torch.linalg.vector_norm(target, dim=1)
    along_true_hue = (predicted * target).sum(dim=1) / (strength + 1e-3)
    return F.relu(strength - along_true_hue).mean() / AB_SCALE


SHORTFALL_TERMS = {"magnitude": chroma_shortfall, "aligned": aligned_shortfall}


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
