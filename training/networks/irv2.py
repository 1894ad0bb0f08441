"""Inception-ResNet-v2 (Szegedy et al. 2016), the classifier of Deep Koalarization, laid out so that the widely
used pretrained weights load as they are: the state-dict layout of timm's ``inception_resnet_v2`` (itself the
port of Google's TensorFlow checkpoint). Only the global 1536-d embedding is used here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from training.networks.effnet import load_weights

EMBEDDING_CHANNELS = 1536
CLASSIFIER_SIZE = 299


class BasicConv2d(nn.Sequential):
    """conv (no bias) + batch norm + ReLU, with the sub-module names of the published weights (conv, bn)."""

    def __init__(self, in_channels, out_channels, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()


def _chain(*specs) -> nn.Sequential:
    """A branch of BasicConv2d layers from (in, out, kernel, stride, padding) tuples."""
    return nn.Sequential(*(BasicConv2d(*spec) for spec in specs))


class Concat(nn.Module):
    """Runs named branches on the same input and concatenates their outputs along channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


def mixed_5b() -> Concat:
    block = Concat()
    block.branch0 = BasicConv2d(192, 96, 1)
    block.branch1 = _chain((192, 48, 1), (48, 64, 5, 1, 2))
    block.branch2 = _chain((192, 64, 1), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1))
    block.branch3 = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), BasicConv2d(192, 64, 1))
    return block


def mixed_6a() -> Concat:
    block = Concat()
    block.branch0 = BasicConv2d(320, 384, 3, 2)
    block.branch1 = _chain((320, 256, 1), (256, 256, 3, 1, 1), (256, 384, 3, 2))
    block.branch2 = nn.MaxPool2d(3, 2)
    return block


def mixed_7a() -> Concat:
    block = Concat()
    block.branch0 = _chain((1088, 256, 1), (256, 384, 3, 2))
    block.branch1 = _chain((1088, 256, 1), (256, 288, 3, 2))
    block.branch2 = _chain((1088, 256, 1), (256, 288, 3, 1, 1), (288, 320, 3, 2))
    block.branch3 = nn.MaxPool2d(3, 2)
    return block


class Residual(nn.Module):
    """An Inception-ResNet block: branches, a 1x1 projection back to the input width, a scaled residual sum."""

    def __init__(self, channels: int, branches: list[nn.Module], mixed: int, scale: float, relu: bool = True):
        super().__init__()
        for index, branch in enumerate(branches):
            self.add_module(f"branch{index}", branch)
        self.conv2d = nn.Conv2d(mixed, channels, 1)
        self.scale = scale
        self.relu = nn.ReLU() if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [module for name, module in self.named_children() if name.startswith("branch")]
        out = self.conv2d(torch.cat([branch(x) for branch in branches], dim=1)) * self.scale + x
        return self.relu(out) if self.relu is not None else out


def block35() -> Residual:
    branches = [
        BasicConv2d(320, 32, 1),
        _chain((320, 32, 1), (32, 32, 3, 1, 1)),
        _chain((320, 32, 1), (32, 48, 3, 1, 1), (48, 64, 3, 1, 1)),
    ]
    return Residual(320, branches, 128, 0.17)


def block17() -> Residual:
    branches = [
        BasicConv2d(1088, 192, 1),
        _chain((1088, 128, 1), (128, 160, (1, 7), 1, (0, 3)), (160, 192, (7, 1), 1, (3, 0))),
    ]
    return Residual(1088, branches, 384, 0.10)


def block8(scale: float = 0.20, relu: bool = True) -> Residual:
    branches = [
        BasicConv2d(2080, 192, 1),
        _chain((2080, 192, 1), (192, 224, (1, 3), 1, (0, 1)), (224, 256, (3, 1), 1, (1, 0))),
    ]
    return Residual(2080, branches, 448, scale, relu)


class InceptionResNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, 2)
        self.conv2d_2a = BasicConv2d(32, 32, 3)
        self.conv2d_2b = BasicConv2d(32, 64, 3, 1, 1)
        self.maxpool_3a = nn.MaxPool2d(3, 2)
        self.conv2d_3b = BasicConv2d(64, 80, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3)
        self.maxpool_5a = nn.MaxPool2d(3, 2)
        self.mixed_5b = mixed_5b()
        self.repeat = nn.Sequential(*(block35() for _ in range(10)))
        self.mixed_6a = mixed_6a()
        self.repeat_1 = nn.Sequential(*(block17() for _ in range(20)))
        self.mixed_7a = mixed_7a()
        self.repeat_2 = nn.Sequential(*(block8() for _ in range(9)))
        self.block8 = block8(scale=1.0, relu=False)
        self.conv2d_7b = BasicConv2d(2080, EMBEDDING_CHANNELS, 1)
        self.classif = nn.Linear(EMBEDDING_CHANNELS, num_classes)

    def embed(self, rgb: torch.Tensor) -> torch.Tensor:
        """Global 1536-d embedding of an RGB batch normalised to [-1, 1] (Inception's convention)."""
        x = rgb
        for name, module in self.named_children():
            if name == "classif":
                break
            x = module(x)
        return x.mean(dim=(2, 3))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.classif(self.embed(rgb))


# timm's published port of Google's checkpoint, fetched through torch.hub's cache when the machine is online.
HUB_URL = (
    "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/inception_resnet_v2-940b1cd6.pth"
)


def _from_hub() -> dict:
    try:
        return torch.hub.load_state_dict_from_url(HUB_URL, map_location="cpu", weights_only=True, progress=True)
    except Exception as error:  # offline, blocked, or a broken download
        raise FileNotFoundError(
            f"fusion-irv2 needs Inception-ResNet-v2 weights and the download failed ({error}); pass "
            "--classifier-weights FILE (timm's inception_resnet_v2 state dict, inception_resnet_v2-940b1cd6.pth), "
            "or use fusion-effnet"
        ) from error


def load_irv2_weights(model: InceptionResNetV2, weights: str | Path | None) -> None:
    """Load pretrained weights in timm's layout from a local file, or from the hub when none is given."""
    state = torch.load(weights, map_location="cpu", weights_only=True) if weights else _from_hub()
    state = state.get("state_dict", state)
    classes = state.get("classif.weight")
    if classes is not None and classes.shape[0] != model.classif.out_features:
        model.classif = nn.Linear(EMBEDDING_CHANNELS, classes.shape[0])  # some ports keep 1001 classes
    load_weights(model, state, "Inception-ResNet-v2")
