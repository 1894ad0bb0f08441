"""Generators (the presets) and the PatchGAN discriminator.

Every generator maps (L, hint_ab, hint_mask) in Lab units to ab in Lab units, so the exported ONNX graph is the
model itself with no pre- or post-processing around it (see the model contract).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from training.networks.ab_bins import AbBins
from training.networks.effnet import EfficientNetLite0, drop_classifier_head, pretrained_efficientnet_lite0
from training.networks.layers import AB_SCALE, ConvBNReLU, normalise_inputs


class PlainColorNet(nn.Module):
    """``baseline``: a few dilated convolutions at full resolution. Small enough to overfit one image quickly."""

    size_multiple = 8

    def __init__(self, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            ConvBNReLU(4, width),
            ConvBNReLU(width, width, dilation=2),
            ConvBNReLU(width, width, dilation=4),
            ConvBNReLU(width, width),
            nn.Conv2d(width, 2, 3, padding=1),
        )

    def forward(self, lightness, hint_ab, hint_mask):
        luma, hints = normalise_inputs(lightness, hint_ab, hint_mask)
        return self.body(torch.cat([luma, hints], dim=1)) * AB_SCALE


class UpBlock(nn.Module):
    """Upsample x2, concatenate the skip, two 3x3 convolutions."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.convs = nn.Sequential(
            ConvBNReLU(in_channels + skip_channels, out_channels), ConvBNReLU(out_channels, out_channels)
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    """``intermediate``: a U-Net trained from scratch (L and hints in, ab out)."""

    size_multiple = 16

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128, 256)):
        super().__init__()
        self.down = nn.ModuleList()
        channels = 4
        for width in widths:
            self.down.append(nn.Sequential(ConvBNReLU(channels, width), ConvBNReLU(width, width)))
            channels = width
        self.bottom = ConvBNReLU(channels, channels * 2)
        self.up = nn.ModuleList()
        channels *= 2
        for width in reversed(widths):
            self.up.append(UpBlock(channels, width, width))
            channels = width
        self.head = nn.Conv2d(channels, 2, 1)

    def forward(self, lightness, hint_ab, hint_mask):
        luma, hints = normalise_inputs(lightness, hint_ab, hint_mask)
        x, skips = torch.cat([luma, hints], dim=1), []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips), strict=True):
            x = block(x, skip)
        return self.head(x) * AB_SCALE


FEATURE_STRIDE = 8  # of FusionUNet's exported features: the encoder's output at 1/8 of the input size


class FusionUNet(nn.Module):
    """``fusion-effnet`` / ``fusion-irv2``: Deep Koalarization's fusion on a U-Net with an EfficientNet-Lite0
    encoder (ImageNet weights, fine-tuned).

    A frozen classifier sees L resized to its input size; its global embedding is tiled over the encoder's
    bottleneck, concatenated and mixed by a 1x1 convolution before the decoder. ab is predicted at half the input
    resolution and upsampled, which halves the decoder's cost (Zhang and DeOldify predict chroma coarser still).
    """

    size_multiple = 32

    def __init__(
        self,
        classifier: nn.Module,
        classifier_size: int,
        embedding_channels: int,
        pretrained_encoder: bool = True,
        decoder_widths: tuple[int, ...] = (192, 96, 64, 48, 32),
        ab_bins: bool = False,
    ):
        super().__init__()
        encoder = pretrained_efficientnet_lite0() if pretrained_encoder else EfficientNetLite0()
        self.encoder = drop_classifier_head(encoder)
        # Hints enter beside the pretrained stem, through a branch that starts at zero: at step 0 the encoder
        # behaves exactly as pretrained.
        self.hint_stem = nn.Conv2d(3, 32, 3, 2, 1)
        nn.init.zeros_(self.hint_stem.weight)
        nn.init.zeros_(self.hint_stem.bias)
        self.classifier = classifier.eval().requires_grad_(False)
        self.classifier_size = classifier_size
        self.fusion = ConvBNReLU(320 + embedding_channels, decoder_widths[0], kernel=1)
        skip_channels = (112, 40, 24, 16 + 3)
        blocks, channels = [], decoder_widths[0]
        for skip, width in zip(skip_channels, decoder_widths[1:], strict=True):
            blocks.append(UpBlock(channels, skip, width))
            channels = width
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(channels, 2, 3, padding=1)
        # ``fusion-effnet-bins``: a distribution over ab bins on top of the regressed ab (training/networks/ab_bins.py)
        self.bins = AbBins(channels) if ab_bins else None
        self.encoder_frozen = False
        self.encoder_statistics_frozen = False
        from training.networks.folding import FoldedCopy  # folding builds on this module's layers

        self.folded_frozen = FoldedCopy()

    def freeze_encoder(self) -> None:
        """Train the decoder only: the encoder and the hint stem that feeds it keep their weights and batch-norm
        statistics. Backpropagation then stops at the decoder, which makes a CPU training step about 3x faster."""
        self.encoder.requires_grad_(False)
        self.hint_stem.requires_grad_(False)
        self.encoder_frozen = True
        self.train(self.training)

    def freeze_encoder_statistics(self) -> None:
        """The encoder's weights still learn, its batch norms keep the statistics they start with: a CPU batch of 16
        crops makes noisy statistics, which the runtime (batch norms folded) would then bake in."""
        self.encoder_statistics_frozen = True
        self.train(self.training)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The pretrained encoder's parameters, with the hint stem that feeds it (--encoder-lr-scale)."""
        return [*self.encoder.parameters(), *self.hint_stem.parameters()]

    def train(self, mode: bool = True):
        super().train(mode)
        self.classifier.eval()  # frozen: its batch-norm statistics stay ImageNet's
        if self.encoder_frozen:
            self.encoder.eval()
        elif self.encoder_statistics_frozen:
            for module in self.encoder.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self

    def embed(self, luma: torch.Tensor, classifier: nn.Module | None = None) -> torch.Tensor:
        size = (self.classifier_size, self.classifier_size)
        small = F.interpolate(luma, size=size, mode="bilinear", align_corners=False)
        return (classifier or self.classifier).embed(small.expand(-1, 3, -1, -1))

    def modules_themselves(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        """(encoder, hint stem, classifier): what ``_frozen_modules`` folds a copy of."""
        return self.encoder, self.hint_stem, self.classifier

    def _frozen_modules(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        """(encoder, hint stem, classifier) as this forward pass runs them: while training with the encoder frozen,
        a copy with their batch norms folded in (``folding.FoldedCopy``: the same function, faster); otherwise, and
        always in eval mode (validation, export), the modules themselves."""
        if not (self.encoder_frozen and self.training):
            return self.modules_themselves()
        if isinstance(self.classifier, EfficientNetLite0):
            return tuple(self.folded_frozen.of((self.encoder, self.hint_stem, self.classifier)))
        encoder, hint_stem = self.folded_frozen.of((self.encoder, self.hint_stem))  # Inception's batch norms stay
        return encoder, hint_stem, self.classifier

    def forward(self, lightness, hint_ab, hint_mask, bins_inputs: bool = False, annealed: bool = False):
        """ab; with ``bins_inputs`` (a bins model in training): (ab, what its bin logits are computed from at half
        resolution), which the training loss samples (``ab_bins.sampled_cross_entropy``). That ab is the regressed
        one, unless ``annealed`` asks for the output colour (the critic's input): it costs the head at every pixel."""
        ab, _, inputs = self._run(lightness, hint_ab, hint_mask, bins_inputs, annealed)
        return (ab, inputs) if bins_inputs else ab

    def forward_with_features(self, lightness, hint_ab, hint_mask):
        """(ab, the encoder's stride-8 features): the features let the runtime match a reference photo's regions
        to the photo's (contract 2's optional output)."""
        return self._run(lightness, hint_ab, hint_mask)[:2]

    def _run(self, lightness, hint_ab, hint_mask, bins_inputs: bool = False, annealed: bool = False):
        luma, hints = normalise_inputs(lightness, hint_ab, hint_mask)
        encoder, hint_stem, classifier = self._frozen_modules()
        stem = encoder.stem(luma.expand(-1, 3, -1, -1)) + hint_stem(hints)
        skips = encoder.features(stem)
        embedding = self.embed(luma, classifier)[:, :, None, None].expand(-1, -1, *skips[-1].shape[-2:])
        x = self.fusion(torch.cat([skips[-1], embedding], dim=1))
        # Hints join again at stride 2 so that a small dot keeps its place: mean colour, max mask.
        hint_half = torch.cat([F.avg_pool2d(hints[:, :2], 2), F.max_pool2d(hints[:, 2:], 2)], dim=1)
        for block, skip in zip(
            self.decoder, [skips[3], skips[2], skips[1], torch.cat([skips[0], hint_half], 1)], strict=True
        ):
            x = block(x, skip)
        ab, inputs = self.head(x) * AB_SCALE, None
        if bins_inputs:
            inputs = self.bins.inputs(x, ab)
            if annealed:
                ab = self.bins.mean_of(inputs)
        elif self.bins is not None:
            ab = self.bins(x, ab)
        full = F.interpolate(ab, size=lightness.shape[-2:], mode="bilinear", align_corners=False)
        return full, skips[2], inputs


class WithFeatures(nn.Module):
    """Exports a generator's ``forward_with_features``: outputs ab and the features (contract 2)."""

    feature_stride = FEATURE_STRIDE

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.size_multiple = generator.size_multiple

    def forward(self, lightness, hint_ab, hint_mask):
        return self.generator.forward_with_features(lightness, hint_ab, hint_mask)


class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN (70x70 receptive field), conditioned on L, with spectral norm instead of batch norm."""

    def __init__(self, width: int = 64):
        super().__init__()

        def conv(i, o, stride):
            return spectral_norm(nn.Conv2d(i, o, 4, stride, 1))

        self.body = nn.Sequential(
            conv(3, width, 2),
            nn.LeakyReLU(0.2, True),
            conv(width, width * 2, 2),
            nn.LeakyReLU(0.2, True),
            conv(width * 2, width * 4, 2),
            nn.LeakyReLU(0.2, True),
            conv(width * 4, width * 4, 1),
            nn.LeakyReLU(0.2, True),
            conv(width * 4, 1, 1),
        )

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([lightness / 50.0 - 1.0, ab / AB_SCALE], dim=1))


class MirrorAverage(nn.Module):
    """A generator run on the photo and on its mirror image, the two predictions averaged (the mirror one flipped
    back). Colorization is ambiguous; the average of two views is the steadier guess, for twice the network time.
    Exported in place of the generator (``colorize-export --mirror-average``); its weights keep their names under
    ``generator.``."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.size_multiple = generator.size_multiple

    def forward(self, lightness, hint_ab, hint_mask):
        batch = lightness.shape[0]
        both = [torch.cat([x, torch.flip(x, dims=[3])]) for x in (lightness, hint_ab, hint_mask)]
        ab = self.generator(*both)
        return (ab[:batch] + torch.flip(ab[batch:], dims=[3])) / 2


def output_convolution(generator: nn.Module) -> nn.Conv2d:
    """The last convolution, the one that writes ab: everything after it is linear (a scale, a resize, a mean)."""
    if isinstance(generator, MirrorAverage):
        return output_convolution(generator.generator)
    return generator.head if hasattr(generator, "head") else generator.body[-1]


def ab_bins_of(generator: nn.Module) -> AbBins | None:
    """The bin head of a ``fusion-effnet-bins`` generator (None for a regression one)."""
    if isinstance(generator, MirrorAverage | WithFeatures):
        return ab_bins_of(generator.generator)
    return getattr(generator, "bins", None)


def scale_chroma(generator: nn.Module, gain: float) -> nn.Module:
    """Multiply the predicted ab by ``gain``, in place, through the output convolution's weights (everything after
    it is linear). L1-trained networks pull uncertain colours towards gray; a gain a little above 1 calibrates that
    for the whole photo, as the runtime's saturation factor would, but as the model's own default. A bins model's
    annealed mean is not linear in its last convolution: its bin centres are scaled instead."""
    bins = ab_bins_of(generator)
    if bins is not None:
        bins.gain *= gain
        return generator
    head = output_convolution(generator)
    with torch.no_grad():
        head.weight.mul_(gain)
        if head.bias is not None:
            head.bias.mul_(gain)
    return generator


def _fusion_effnet(pretrained: bool, classifier_weights: str | None, ab_bins: bool = False) -> nn.Module:
    from training.networks import effnet

    classifier = pretrained_efficientnet_lite0(classifier_weights) if pretrained else EfficientNetLite0()
    return FusionUNet(
        classifier,
        effnet.IMAGENET_CLASSIFIER_SIZE,
        effnet.HEAD_CHANNELS,
        pretrained_encoder=pretrained,
        ab_bins=ab_bins,
    )


def _fusion_irv2(pretrained: bool, classifier_weights: str | None) -> nn.Module:
    from training.networks import irv2

    classifier = irv2.InceptionResNetV2()
    if pretrained:
        irv2.load_irv2_weights(classifier, classifier_weights)
    return FusionUNet(classifier, irv2.CLASSIFIER_SIZE, irv2.EMBEDDING_CHANNELS, pretrained_encoder=pretrained)


@dataclass(frozen=True)
class Preset:
    arch: str  # the colorize.arch an export of it carries
    build: Callable[[bool, str | None], nn.Module]  # (pretrained, classifier weights file) -> generator


PRESETS: dict[str, Preset] = {
    "baseline": Preset("plain-conv", lambda pretrained, weights: PlainColorNet()),
    "intermediate": Preset("unet", lambda pretrained, weights: UNet()),
    "fusion-effnet": Preset("unet-fusion-effnet-lite0", _fusion_effnet),
    "fusion-effnet-bins": Preset("unet-fusion-effnet-lite0-ab-bins", partial(_fusion_effnet, ab_bins=True)),
    "fusion-irv2": Preset("unet-fusion-inception-resnet-v2", _fusion_irv2),
}


def build_generator(preset: str, pretrained: bool = True, classifier_weights: str | None = None) -> nn.Module:
    """The generator of a preset. ``pretrained`` loads ImageNet weights where the preset uses them."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset].build(pretrained, classifier_weights)
