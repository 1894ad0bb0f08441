"""A trainable generator from an exported ONNX model (the shipped one, or any file ``colorize-export`` wrote).

The file holds every trained weight, with batch norm folded in (``folding``) and the export's chroma gain in the
output convolution; this reads them back, so ``colorize-train --init-from shipped`` needs no training checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from gimp_plugin.core import contract
from training.common.errors import TrainingError
from training.networks.folding import load_folded
from training.networks.generators import PRESETS, ab_bins_of, build_generator, scale_chroma
from training.onnx_io.export_notes import bins_temperature, chroma_gain, is_mirror_averaged, without_notes

SHIPPED = "shipped"  # --init-from shipped: the model the runtime uses by default


def is_exported_model(source: str) -> bool:
    return source == SHIPPED or source.lower().endswith(".onnx")


def resolve(source: str) -> Path:
    """The ONNX file ``source`` names ('shipped' is the runtime's default model)."""
    if source == SHIPPED:
        from gimp_plugin.core.session import default_model_path

        return default_model_path()
    return Path(source)


def read(path: Path, role: str = "--init-from") -> tuple[contract.ModelInfo, dict[str, torch.Tensor]]:
    """The model's contract metadata and its weights (float32, by initializer name); ``role`` names the argument
    the path came from in errors."""
    import onnx
    from onnx import numpy_helper

    if not path.is_file():
        raise TrainingError(f"{role} {path}: no such model file")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # a truncated or foreign file: the loader's own message says why
        raise TrainingError(f"{role} {path}: not a readable ONNX file ({error})") from error
    info, problems = contract.parse_metadata({entry.key: entry.value for entry in model.metadata_props})
    if info is None:
        raise TrainingError(f"{role} {path}: not a Colorize model ({'; '.join(problems)})")
    weights = {
        tensor.name: torch.from_numpy(np.array(numpy_helper.to_array(tensor), dtype=np.float32))
        for tensor in model.graph.initializer
    }
    return info, weights


def preset_of(info: contract.ModelInfo) -> str:
    presets = {spec.arch: name for name, spec in PRESETS.items()}
    if info.arch not in presets:
        raise TrainingError(
            f"model architecture {info.arch!r} is not one colorize-train builds ({', '.join(sorted(presets))})"
        )
    return presets[info.arch]


def generator_from_onnx(path: Path, role: str = "--init-from") -> tuple[nn.Module, str, contract.ModelInfo]:
    """(generator in eval mode, its preset, its metadata). The export's chroma gain is divided out again, so that
    training continues from the network as it was trained; every batch norm is the identity until
    ``folding.calibrate_batch_norms`` sees data."""
    info, weights = read(path, role)
    preset = preset_of(info)
    inner = "generator."  # a --mirror-average export keeps the generator's weights under this prefix
    if any(name.startswith(inner) for name in weights):
        weights = {name.removeprefix(inner): tensor for name, tensor in weights.items()}
    generator = build_generator(preset, pretrained=False)
    try:
        missing = load_folded(generator, weights)
    except ValueError as error:
        raise TrainingError(f"{role} {path}: {error}") from error
    unexpected = [name for name in missing if not name.startswith("classifier._fc.")]  # unused by the forward pass
    if unexpected:
        raise TrainingError(f"{role} {path}: the file lacks {len(unexpected)} weights ({unexpected[0]}, ...)")
    if (bins := ab_bins_of(generator)) is not None:  # its gain was in the bin centres, which are rebuilt at 1
        bins.temperature = bins_temperature(info.trained_on) or bins.temperature
        return generator.eval(), preset, info
    gain = chroma_gain(info.trained_on)
    if gain != 1.0:
        scale_chroma(generator, 1 / gain)
    return generator.eval(), preset, info


def export_source(path: Path) -> tuple[nn.Module, dict, str, bool]:
    """What ``colorize-export FILE.onnx`` re-exports: (the generator at gain 1, in eval mode; the run settings the
    export needs; the file's description of its training without the export's notes; whether it was mirror-averaged).

    Lets a model's chroma gain or temperature change without its training run (``colorize-calibrate`` reads a gain
    off held-out photos; the shipped model's run is not shipped)."""
    generator, preset, info = generator_from_onnx(path, "colorize-export")
    config = {"preset": preset, "image_size": info.native_size, "data": [], "step": 0, "init_from": str(path)}
    trained_on = without_notes(info.trained_on or "")
    return generator, config, trained_on, is_mirror_averaged(info.trained_on or "")
