"""`colorize-export`: a training run (or checkpoint) -> the ONNX file the runtime and the GIMP plug-in use.

EMA weights, batch norm folded into the convolutions, the fusion classifier inside the same graph, dynamic N/H/W,
the contract's names and metadata. A parity check against PyTorch runs after every export; a failing file is
deleted.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from gimp_plugin import contract

from . import checkpoint
from .effnet import EfficientNetLite0, MBConv
from .models import ARCH_IDS, ConvBNReLU, build_generator

PARITY_TOLERANCE = 1e-2  # max |delta ab| in Lab units
OPSET = 17


def _fuse_pair(owner: nn.Module, conv_name: str, bn_name: str) -> None:
    conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
    setattr(owner, conv_name, fuse_conv_bn_eval(conv, bn))
    setattr(owner, bn_name, nn.Identity())


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into the convolution before it (eval mode), in place."""
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, ConvBNReLU):
            module[0] = fuse_conv_bn_eval(module[0], module[1])
            module[1] = nn.Identity()
        elif isinstance(module, MBConv):
            if module.has_expansion:
                _fuse_pair(module, "_expand_conv", "_bn0")
            _fuse_pair(module, "_depthwise_conv", "_bn1")
            _fuse_pair(module, "_project_conv", "_bn2")
        elif isinstance(module, EfficientNetLite0):
            _fuse_pair(module, "_conv_stem", "_bn0")
            if hasattr(module, "_conv_head"):
                _fuse_pair(module, "_conv_head", "_bn1")
    return model


def load_generator(run_or_checkpoint: Path, weights: str = "ema") -> tuple[nn.Module, dict]:
    """The generator of a run (its EMA weights, or the raw ones), in eval mode, and the run's config."""
    state = checkpoint.load(checkpoint.find(run_or_checkpoint))
    config = state["config"]
    generator = build_generator(config["config"], pretrained=False)
    generator.load_state_dict(state["ema" if weights == "ema" else "generator"])
    return generator.eval(), {**config, "step": state["step"]}


def scale_chroma(generator: nn.Module, gain: float) -> nn.Module:
    """Multiply the predicted ab by ``gain``, in place, through the output convolution's weights (everything after
    it is linear). L1-trained networks pull uncertain colours towards gray; a gain a little above 1 calibrates that
    for the whole photo, as the runtime's saturation factor would, but as the model's own default."""
    with torch.no_grad():
        generator.head.weight.mul_(gain)
        if generator.head.bias is not None:
            generator.head.bias.mul_(gain)
    return generator


def model_info(
    config: dict, generator: nn.Module, render_size: int | None, trained_on: str | None, chroma_gain: float = 1.0
) -> contract.ModelInfo:
    photos = trained_on or f"{', '.join(Path(p).name for p in config['data'])}; {config['step']} steps"
    if chroma_gain != 1.0:
        photos += f"; chroma gain {chroma_gain:g}"
    return contract.ModelInfo(
        arch=ARCH_IDS[config["config"]],
        native_size=int(config["image_size"]),
        default_render_size=int(render_size or 512),
        size_multiple=int(generator.size_multiple),
        hints=True,
        trained_on=photos,
        version=datetime.date.today().strftime("%Y.%m.%d"),
    )


def export_onnx(generator: nn.Module, info: contract.ModelInfo, path: Path) -> None:
    import onnx

    size = max(info.size_multiple * 2, 64)
    example = (torch.rand(1, 1, size, size) * 100, torch.zeros(1, 2, size, size), torch.zeros(1, 1, size, size))
    dynamic = {"N": 0, "H": 2, "W": 3}
    axes = {name: {v: k for k, v in dynamic.items()} for name in (*contract.INPUT_CHANNELS, contract.OUTPUT_AB)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            generator, example, str(path), input_names=list(contract.INPUT_CHANNELS), output_names=[contract.OUTPUT_AB],
            dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )  # fmt: skip
    model = onnx.load(str(path))
    for key, value in info.to_metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def parity_inputs(multiple: int, real_lightness: list[np.ndarray] | None = None):
    """Random and (when given) real L inputs at two sizes, with and without hints."""
    generator = np.random.default_rng(0)
    cases = []
    for height, width in ((multiple * 2, multiple * 3), (multiple * 5, multiple * 4)):
        lightness = generator.uniform(0, 100, (1, 1, height, width)).astype(np.float32)
        mask = (generator.uniform(size=(1, 1, height, width)) > 0.99).astype(np.float32)
        hint_ab = generator.uniform(-60, 60, (1, 2, height, width)).astype(np.float32) * mask
        cases.append((f"random {height}x{width} + hints", lightness, hint_ab, mask))
    for index, real in enumerate(real_lightness or []):
        height, width = (s - s % multiple for s in real.shape)
        lightness = np.ascontiguousarray(real[:height, :width][None, None], dtype=np.float32)
        zeros = np.zeros((1, 1, height, width), np.float32)
        cases.append((f"photo {index} {height}x{width}", lightness, np.zeros((1, 2, height, width), np.float32), zeros))
    return cases


def check_parity(generator: nn.Module, path: Path, multiple: int, real_lightness=None) -> list[tuple[str, float]]:
    """Max |delta ab| between PyTorch and onnxruntime for each parity case."""
    from gimp_plugin.model import ColorizationModel

    runtime = ColorizationModel(path, device="cpu")
    results = []
    for name, lightness, hint_ab, mask in parity_inputs(multiple, real_lightness):
        with torch.no_grad():
            expected = generator(*(torch.from_numpy(a) for a in (lightness, hint_ab, mask))).numpy()
        actual = runtime.predict(lightness, hint_ab, mask)
        results.append((name, float(np.abs(actual - expected).max())))
    return results


def to_fp16(source: Path, target: Path) -> None:
    """Weights in half precision, inputs and outputs kept float32 (onnxruntime's own converter)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def _real_lightness(folder: Path | None, count: int = 2) -> list[np.ndarray]:
    if folder is None:
        return []
    from gimp_plugin import color
    from training.data import find_files, load_rgb

    files = find_files([folder])[:count]
    return [color.rgb_to_lightness(load_rgb(path, 256).astype(np.float32) / 255) for path, _, _ in files]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="colorize-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="run folder (uses last.pt) or checkpoint file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--render-size", type=int, help="default render size written to the metadata (512)")
    parser.add_argument("--trained-on", help="one line for the model card (default: data folders and steps)")
    parser.add_argument("--parity-photos", type=Path, help="folder of photos to include in the parity check")
    parser.add_argument("--fp16", action="store_true", help="also write a half-precision copy (*.fp16.onnx)")
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema", help="EMA (default) or raw weights")
    parser.add_argument("--chroma-gain", type=float, default=1.0, help="scale the predicted ab (1.0: as trained)")
    args = parser.parse_args(argv)
    if not args.chroma_gain > 0:
        parser.error("--chroma-gain must be above 0")

    reference, config = load_generator(args.run, args.weights)  # unfolded: parity is measured against it
    scale_chroma(reference, args.chroma_gain)
    exported = fold_batch_norms(copy.deepcopy(reference))
    info = model_info(config, exported, args.render_size, args.trained_on, args.chroma_gain)
    export_onnx(exported, info, args.output)
    results = check_parity(reference, args.output, info.size_multiple, _real_lightness(args.parity_photos))
    worst = max(delta for _, delta in results)
    for name, delta in results:
        print(f"parity {name}: max |delta ab| = {delta:.2e}")
    if not worst < PARITY_TOLERANCE:
        args.output.unlink(missing_ok=True)
        print(f"colorize-export: parity check failed ({worst:.3g} >= {PARITY_TOLERANCE}); {args.output} deleted",
              file=sys.stderr)  # fmt: skip
        return 1
    size_mb = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB, {info.arch}, multiple {info.size_multiple}); parity ok")
    if args.fp16:
        half = args.output.with_suffix(".fp16.onnx")
        to_fp16(args.output, half)
        worst_half = max(delta for _, delta in check_parity(reference, half, info.size_multiple))
        print(f"wrote {half} ({half.stat().st_size / 1e6:.1f} MB); max |delta ab| vs float32 PyTorch {worst_half:.3g}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
