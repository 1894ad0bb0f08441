"""Batch norm folded into the convolutions for export, and unfolded again to fine-tune an exported model.

An exported ONNX file holds each convolution with its batch norm folded in (weight and bias under the
convolution's own name). That is all the trainable state of the generator, so a shipped model can be the start of
a fine-tune without its training checkpoint: the folded weights go back into the convolutions, each batch norm
becomes the identity plus the folded bias, and ``calibrate_batch_norms`` then gives every batch norm the statistics
of the activations it really sees, so that training mode (batch statistics) starts where the exported model is.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from itertools import chain

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from training.networks.effnet import EfficientNetLite0, MBConv
from training.networks.layers import ConvBNReLU


def conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Module, str, str]]:
    """Every (owner, convolution attribute, batch norm attribute) whose batch norm follows the convolution."""
    pairs = []
    for module in model.modules():
        if isinstance(module, ConvBNReLU):
            pairs.append((module, "0", "1"))
        elif isinstance(module, MBConv):
            if module.has_expansion:
                pairs.append((module, "_expand_conv", "_bn0"))
            pairs += [(module, "_depthwise_conv", "_bn1"), (module, "_project_conv", "_bn2")]
        elif isinstance(module, EfficientNetLite0):
            pairs.append((module, "_conv_stem", "_bn0"))
            if hasattr(module, "_conv_head"):
                pairs.append((module, "_conv_head", "_bn1"))
    return pairs


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into the convolution before it (eval mode), in place."""
    model.eval()
    for owner, conv_name, bn_name in conv_bn_pairs(model):
        setattr(owner, conv_name, fuse_conv_bn_eval(getattr(owner, conv_name), getattr(owner, bn_name)))
        setattr(owner, bn_name, nn.Identity())
    return model


class FoldedCopy:
    """A copy of some frozen modules with their batch norms folded in, for training steps to run instead of them.

    In eval mode a batch norm is an affine map, so the folded copy computes the same function without a
    normalisation pass after each convolution: with the encoder frozen, a CPU training step takes 7-8 % less
    (bench/bench_frozen_folding.py). It is made again whenever a tensor of the modules changes (a checkpoint loaded
    into them, the device or memory format changed), told by each tensor's storage address and version counter. A
    plain attribute, not a submodule: it is in no state dict, and a deep copy of its owner starts without it."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._copy: nn.ModuleList | None = None

    def of(self, modules: tuple[nn.Module, ...]) -> nn.ModuleList:
        tensors = chain.from_iterable(chain(module.parameters(), module.buffers()) for module in modules)
        key = tuple((tensor.data_ptr(), tensor._version) for tensor in tensors)
        if key != self._key:
            self._copy = fold_batch_norms(copy.deepcopy(nn.ModuleList(modules))).requires_grad_(False)
            self._key = key
        return self._copy

    def __deepcopy__(self, memo: dict) -> FoldedCopy:
        return FoldedCopy()


def _qualified_names(model: nn.Module) -> dict[int, str]:
    return {id(module): name for name, module in model.named_modules()}


def load_folded(model: nn.Module, folded: dict[str, torch.Tensor]) -> list[str]:
    """Load folded weights (an exported file's initializers, by name) into an unfolded ``model``, in place.

    Each batch norm becomes the identity followed by the folded bias, so in eval mode the model computes exactly
    what the exported one does. Returns the names of the model's parameters that ``folded`` did not provide (the
    unused classifier head, for instance); raises ValueError when a convolution is missing or has another shape."""
    names = _qualified_names(model)
    provided: set[str] = set()
    with torch.no_grad():
        for owner, conv_name, bn_name in conv_bn_pairs(model):
            conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
            prefix = f"{names[id(owner)]}.{conv_name}".lstrip(".")
            weight, bias = _take(folded, f"{prefix}.weight", conv.weight.shape), _take(folded, f"{prefix}.bias", None)
            conv.weight.copy_(weight)
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias.reshape(bn.bias.shape))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # (x - 0) / sqrt(1 - eps + eps) = x
            bn.num_batches_tracked.zero_()
            provided |= {f"{prefix}.weight", f"{names[id(owner)]}.{bn_name}.weight".lstrip(".")}
            provided.add(f"{names[id(owner)]}.{bn_name}.bias".lstrip("."))
        for name, parameter in model.named_parameters():
            if name in provided:
                continue
            if name in folded:
                parameter.copy_(_take(folded, name, parameter.shape))
                provided.add(name)
    return [name for name, _ in model.named_parameters() if name not in provided]


def _take(folded: dict[str, torch.Tensor], name: str, shape) -> torch.Tensor:
    if name not in folded:
        raise ValueError(f"the exported model has no tensor {name!r}: it is not this architecture")
    tensor = folded[name]
    if shape is not None and tuple(tensor.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(tensor.shape)} in the exported model, {tuple(shape)} here")
    return tensor


def calibrate_batch_norms(model: nn.Module, batches: Iterable[tuple[torch.Tensor, ...]], skip: str = "classifier"):
    """Give each batch norm (outside ``skip``, which stays frozen) the mean and variance of its input over
    ``batches`` (model inputs), and change its affine part so that eval mode computes what it did before:
    gamma (x - mu) / sqrt(var + eps) + beta = x + b when gamma = sqrt(var + eps) and beta = b + mu."""
    norms = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.BatchNorm2d) and not name.startswith(skip)
    }
    sums: dict[str, list[torch.Tensor]] = {}

    def record(name):
        def hook(_module, inputs):
            x = inputs[0].detach().double()
            totals = [x.sum(dim=(0, 2, 3)), x.square().sum(dim=(0, 2, 3)), torch.tensor(x.numel() / x.shape[1])]
            sums[name] = [a + b for a, b in zip(sums[name], totals, strict=True)] if name in sums else totals

        return hook

    handles = [module.register_forward_pre_hook(record(name)) for name, module in norms.items()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for inputs in batches:
                model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    with torch.no_grad():
        for name, module in norms.items():
            if name not in sums:
                continue
            total, squares, count = sums[name]
            mean = total / count
            variance = (squares / count - mean.square()).clamp(min=0)
            # Undo the current affine map first, so this also works on a batch norm that is not the identity.
            scale = module.weight.double() / torch.sqrt(module.running_var.double() + module.eps)
            shift = module.bias.double() - scale * module.running_mean.double()
            # Eval output is scale * x + shift; keep it with the new statistics.
            module.running_mean.copy_(mean)
            module.running_var.copy_(variance)
            spread = torch.sqrt(variance + module.eps)
            module.weight.copy_(scale * spread)
            module.bias.copy_(shift + scale * mean)
