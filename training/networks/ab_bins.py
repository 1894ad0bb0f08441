"""A distribution over ab bins instead of one regressed colour (Zhang et al. 2016, "Colorful Image Colorization").

The network predicts logits over a grid of ab bins; it is trained with cross-entropy against the true colour
softly encoded on that grid, and its colour is the annealed mean: the mean of the distribution sharpened by a
temperature (T = 1 is the mean, T -> 0 the mode). A regression loss is minimised by the average of the plausible
colours, which is gray-brown where they disagree; the annealed mean leans towards the likeliest one instead.

The head starts from a regression model: its logits at step 0 are a Gaussian around the regressed ab (a linear
function of it, since |ab|^2 cancels in the softmax), so the annealed mean starts at the regression's colour and
training moves it from there.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

BIN_SPACING = 15.0  # ab units; Zhang used 10, a coarser grid keeps the head cheap (225 bins instead of 529)
GRID_LIMIT = 105.0  # bin centres from -105 to +105 on both axes: sRGB's a*, b* stay within about +-110
DEFAULT_TEMPERATURE = 0.5  # chosen on the pool's split for stage 16 (0.2 to 1.0 measured; Zhang used 0.38)
# Width of the step-0 Gaussian around the regressed ab: annealed at Zhang's temperature its spread is 0.6 of a bin,
# wide enough for the annealed mean to land on the regressed colour between bin centres.
START_WIDTH = 0.6 * BIN_SPACING / 0.38**0.5
TARGET_WIDTH = 0.5 * BIN_SPACING  # the soft encoding of the truth spreads over about the four nearest bins
# Rebalancing's running prior: each batch's colours count 1 %, so it spans ~100 batches (millions of pixels).
PRIOR_DECAY = 0.99


def bin_centres() -> torch.Tensor:
    """[Q, 2] ab of every bin (a varies fastest)."""
    axis = torch.arange(-GRID_LIMIT, GRID_LIMIT + 1e-3, BIN_SPACING)
    b, a = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], dim=1)


class AbBins(nn.Module):
    """Decoder features and the regressed ab -> logits over the bins, and their annealed mean."""

    def __init__(self, feature_channels: int, temperature: float = DEFAULT_TEMPERATURE):
        super().__init__()
        self.register_buffer("centres", bin_centres(), persistent=False)
        self.logits = nn.Conv2d(feature_channels + 2, len(self.centres), 1)
        self.temperature = temperature
        self.gain = 1.0  # colorize-export --chroma-gain scales the centres the mean is taken over
        self.start_at_regression()

    def start_at_regression(self) -> None:
        """Logits = -|ab - c|^2 / (2 w^2) + const: features get weight 0, the regressed ab a Gaussian around it."""
        feature_channels = self.logits.in_channels - 2
        with torch.no_grad():
            self.logits.weight.zero_()
            self.logits.weight[:, feature_channels:, 0, 0] = self.centres / START_WIDTH**2
            self.logits.bias.copy_(-self.centres.square().sum(1) / (2 * START_WIDTH**2))

    @staticmethod
    def inputs(features: torch.Tensor, regressed_ab: torch.Tensor) -> torch.Tensor:
        """What the logits are computed from: the decoder's last features and the regressed ab."""
        return torch.cat([features, regressed_ab], dim=1)

    def forward(self, features: torch.Tensor, regressed_ab: torch.Tensor) -> torch.Tensor:
        """The annealed-mean ab [N, 2, h, w]."""
        return self.mean_of(self.inputs(features, regressed_ab))

    def mean_of(self, inputs: torch.Tensor) -> torch.Tensor:
        """The annealed-mean ab of the logits computed from ``inputs`` (see ``inputs``)."""
        return annealed_mean(self.logits(inputs), self.centres * self.gain, self.temperature)


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) . centres, written as one 1x1 convolution of the exponentials (numerator and total
    together): a softmax over the channel axis and an einsum export to transposes that made the network 3.7x
    slower in onnxruntime (bench/bench_models.py)."""
    scaled = logits.float() * (1.0 / temperature)  # a Mul, which onnxruntime folds into the logits convolution
    weights = torch.exp(scaled - scaled.amax(dim=1, keepdim=True))
    centres = centres.to(weights.dtype)
    mixer = torch.cat([centres, torch.ones_like(centres[:, :1])], dim=1).T[:, :, None, None]  # [3, Q, 1, 1]
    sums = F.conv2d(weights, mixer)
    return sums[:, :2] / sums[:, 2:]


def soft_targets(true_ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """[N, Q, ...]: the true ab [N, 2, ...] spread over the nearby bins by a Gaussian of TARGET_WIDTH."""
    centres = centres.view(1, *centres.shape, *[1] * (true_ab.dim() - 2))
    distance = (true_ab[:, None] - centres).square().sum(dim=2)
    return torch.softmax(-distance / (2 * TARGET_WIDTH**2), dim=1)


class Rebalancing:
    """Class rebalancing (Zhang et al. 2016, eq. 3-4): each pixel's cross-entropy is weighted by how rare its true
    colour is, so the distribution does not settle on the near-gray bins that most pixels have.

    Bin q weighs w_q = 1 / (strength * p_q + (1 - strength) / Q), scaled so the pixels' mean weight is 1; p is the
    training colours' distribution over the bins, learnt as the run goes (a running mean of the soft targets, so it
    follows the run's own folder shares and crops). ``strength`` is Zhang's 1 - lambda: 0 weighs all pixels alike,
    Zhang used 0.5 (about 50x between the gray bin and the rarest); a small strength leans a little.
    """

    def __init__(self, bins: int, strength: float, decay: float = PRIOR_DECAY):
        self.strength, self.decay = strength, decay
        self.prior = torch.full((bins,), 1.0 / bins)
        self.seen = 0  # batches folded into the prior; the first replaces the uniform start

    def weights(self) -> torch.Tensor:
        """[Q] the weight of a pixel whose truth is bin q, with mean 1 under the prior."""
        weights = 1.0 / (self.strength * self.prior + (1 - self.strength) / len(self.prior))
        return weights / (self.prior * weights).sum()

    def pixel_weights(self, targets: torch.Tensor) -> torch.Tensor:
        """[N, P] weights of pixels whose soft targets are ``targets`` [N, Q, P]; folds them into the prior first."""
        batch = targets.detach().float().mean(dim=(0, 2))
        if dist.is_available() and dist.is_initialized():  # every rank weighs by the same prior (the checkpoint's)
            dist.all_reduce(batch)
            batch /= dist.get_world_size()
        batch = batch.cpu()
        self.prior = batch if self.seen == 0 else self.decay * self.prior + (1 - self.decay) * batch
        self.seen += 1
        return torch.einsum("nqp,q->np", targets, self.weights().to(targets))

    def state_dict(self) -> dict:
        return {"prior": self.prior.clone(), "seen": self.seen}

    def load_state_dict(self, state: dict) -> None:
        self.prior, self.seen = state["prior"].clone(), state["seen"]


def sampled_cross_entropy(
    bins: AbBins, inputs: torch.Tensor, true_ab: torch.Tensor, share: float, rebalancing: Rebalancing | None = None
) -> torch.Tensor:
    """Mean cross-entropy (nats) of the logits against the true ab at a random ``share`` of the logits' pixels,
    each weighted by the rarity of its colour when ``rebalancing`` is given.

    All pixels would cost four times the rest of a CPU training step (225 bins at every pixel, forward and back);
    neighbouring pixels carry nearly the same information, so a sample of them estimates the same gradient.
    """
    n, channels, h, w = inputs.shape
    true_ab = F.adaptive_avg_pool2d(true_ab, (h, w)) if true_ab.shape[-2:] != (h, w) else true_ab
    index = torch.randint(h * w, (n, 1, max(1, round(h * w * share))), device=inputs.device)
    picked = inputs.flatten(2).gather(2, index.expand(-1, channels, -1))
    truth = true_ab.flatten(2).gather(2, index.expand(-1, 2, -1)).float()
    logits = F.conv1d(picked.float(), bins.logits.weight[..., 0].float(), bins.logits.bias.float())
    targets = soft_targets(truth, bins.centres)
    per_pixel = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1)
    if rebalancing is None:
        return per_pixel.mean()
    return (rebalancing.pixel_weights(targets) * per_pixel).mean()
