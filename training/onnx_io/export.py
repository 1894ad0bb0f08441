"""`colorize-export`: a training run (or checkpoint) -> the ONNX file the runtime and the GIMP plug-in use.

EMA weights, batch norm folded into the convolutions, the fusion classifier inside the same graph, dynamic N/H/W,
the contract's names and metadata. A parity check against PyTorch runs after every export; a failing file is
deleted.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import math
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gimp_plugin.core import contract
from training.common.errors import TrainingError, interrupt_on_sigterm
from training.networks import ab_bins
from training.networks.folding import fold_batch_norms
from training.networks.generators import (
    FEATURE_STRIDE,
    PRESETS,
    MirrorAverage,
    WithFeatures,
    ab_bins_of,
    build_generator,
    scale_chroma,
)
from training.onnx_io.export_notes import with_notes
from training.onnx_io.half_weights import store_weights_as_float16
from training.runs import checkpoint
from training.runs.config import from_dict

PARITY_TOLERANCE = 1e-2  # max |delta ab| in Lab units, float32 weights
HALF_WEIGHTS_TOLERANCE = 0.5  # the same with the weights rounded to float16
OPSET = 17
# Written when --render-size is not given and the run did not start from an exported model (whose own default is
# kept): the size at which the shipped network did best on val_general (docs/model-card.md).
DEFAULT_RENDER_SIZE = 384


def load_generator(run_or_checkpoint: Path, weights: str = "ema") -> tuple[nn.Module, dict]:
    """The generator of a run (its EMA weights, or the raw ones), in eval mode, and the run's config."""
    path = checkpoint.find(run_or_checkpoint)
    state = checkpoint.load(path)
    try:
        config = asdict(from_dict(state["config"])[0])
        generator = build_generator(config["preset"], pretrained=False)
        generator.load_state_dict(state["ema" if weights == "ema" else "generator"])
        if (bins := ab_bins_of(generator)) is not None:
            bins.temperature = config["bins_temperature"]
        step = state["step"]
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise TrainingError(f"{path} is not a colorize-train checkpoint this version can read ({error})") from error
    return generator.eval(), {**config, "step": step}


def set_temperature(generator: nn.Module, temperature: float) -> None:
    bins = ab_bins_of(generator)
    if bins is None:
        raise TrainingError("--temperature is for a bins model (--preset fusion-effnet-bins); this one regresses ab")
    bins.temperature = temperature


def inherited_render_size(config: dict) -> int | None:
    """The default render size of the exported model a run started from (--init-from shipped or FILE.onnx)."""
    from gimp_plugin.core.errors import ColorizeError
    from gimp_plugin.core.session import ColorizationModel
    from training.onnx_io.from_onnx import is_exported_model, resolve

    source = config.get("init_from")
    if not source or not is_exported_model(source):
        return None
    try:
        return ColorizationModel(resolve(source)).info.default_render_size
    except ColorizeError:  # the source is gone or broken now: the plain default then
        return None


def model_info(
    config: dict,
    generator: nn.Module,
    render_size: int | None,
    trained_on: str | None,
    chroma_gain: float = 1.0,
    mirror_average: bool = False,
) -> contract.ModelInfo:
    photos = trained_on or f"{', '.join(Path(p).name for p in config['data'])}; {config['step']} steps"
    bins = ab_bins_of(generator)
    photos = with_notes(photos, chroma_gain, mirror_average, None if bins is None else bins.temperature)
    return contract.ModelInfo(
        arch=PRESETS[config["preset"]].arch,
        native_size=int(config["image_size"]),
        default_render_size=int(render_size or inherited_render_size(config) or DEFAULT_RENDER_SIZE),
        size_multiple=int(generator.size_multiple),
        hints=True,
        trained_on=photos,
        version=datetime.date.today().strftime("%Y.%m.%d"),
        feature_stride=0 if mirror_average or not hasattr(generator, "forward_with_features") else FEATURE_STRIDE,
    )


def export_onnx(generator: nn.Module, info: contract.ModelInfo, path: Path) -> None:
    """``generator`` as an ONNX file with ``info`` as its metadata; with ``info.feature_stride`` the generator's
    features become the optional ``features`` output (contract 2)."""
    import onnx

    size = max(info.size_multiple * 2, 64)
    example = (torch.rand(1, 1, size, size) * 100, torch.zeros(1, 2, size, size), torch.zeros(1, 1, size, size))
    outputs = [contract.OUTPUT_AB, *([contract.OUTPUT_FEATURES] if info.feature_stride else [])]
    axes = {name: {0: "N", 2: "H", 3: "W"} for name in (*contract.INPUT_CHANNELS, contract.OUTPUT_AB)}
    if info.feature_stride:
        axes[contract.OUTPUT_FEATURES] = {0: "N", 2: "h", 3: "w"}
        generator = WithFeatures(generator)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            generator,
            example,
            str(path),
            input_names=list(contract.INPUT_CHANNELS),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
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
    from gimp_plugin.core.session import ColorizationModel

    runtime = ColorizationModel(path, device="cpu")
    results = []
    for name, lightness, hint_ab, mask in parity_inputs(multiple, real_lightness):
        with torch.no_grad():
            expected = generator(*(torch.from_numpy(a) for a in (lightness, hint_ab, mask))).numpy()
        actual = runtime.predict(lightness, hint_ab, mask)
        results.append((name, float(np.abs(actual - expected).max())))
    return results


def partial_file(path: Path) -> Path:
    """A new, empty temporary file beside ``path`` (``.NAME.XXXXXXXX.partial``), created exclusively: never through
    an existing name or a link someone placed there."""
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(descriptor)
    return Path(name)


def write_model(
    reference: nn.Module, exported: nn.Module, info: contract.ModelInfo, path: Path, float16: bool, real_lightness=None
) -> tuple[list[tuple[str, float]], Path]:
    """Export to a temporary file beside ``path``, check parity against ``reference`` (PyTorch), and return the
    parity figures and the temporary file, which the caller moves into place. Raises TrainingError when parity
    fails; the temporary file is removed whenever this raises (Ctrl-C and SIGTERM included)."""
    partial = partial_file(path)
    try:
        export_onnx(exported, info, partial)
        results = check_parity(reference, partial, info.size_multiple, real_lightness)
        worst = max(delta for _, delta in results)
        if not worst < PARITY_TOLERANCE:
            raise TrainingError(f"parity check failed ({worst:.3g} >= {PARITY_TOLERANCE}); nothing was written")
        if float16:
            import onnx

            model = onnx.load(str(partial))
            store_weights_as_float16(model)
            onnx.save(model, str(partial))
            half = check_parity(reference, partial, info.size_multiple, real_lightness)
            worst = max(delta for _, delta in half)
            if not worst < HALF_WEIGHTS_TOLERANCE:
                raise TrainingError(
                    f"float16 weights move ab by {worst:.3g} (limit {HALF_WEIGHTS_TOLERANCE}); "
                    "export with --float32-weights"
                )
            results = [(f"{name}, float16 weights", delta) for name, delta in half]
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return results, partial


MIN_PARITY_SIDE = 32  # the size multiple of the presets: a smaller photo has no whole block to check parity on


def _real_lightness(folder: Path | None, count: int = 2) -> list[np.ndarray]:
    """L* of the first ``count`` usable photos of ``--parity-photos``; unreadable and tiny ones are passed over."""
    if folder is None:
        return []
    from gimp_plugin.core import color
    from training.data.photos import find_files, load_rgb

    if not folder.is_dir():
        raise TrainingError(f"--parity-photos {folder}: not a folder")
    found = []
    for path, _, _ in find_files([folder]):
        try:
            pixels = load_rgb(path, 256)
        except Exception as error:  # any decoder failure: this photo cannot check parity, another may
            print(
                f"colorize-export: note: --parity-photos: passed over {path} (cannot read it: {error})", file=sys.stderr
            )
            continue
        if min(pixels.shape[:2]) < MIN_PARITY_SIDE:
            print(
                f"colorize-export: note: --parity-photos: passed over {path} (smaller than {MIN_PARITY_SIDE} px)",
                file=sys.stderr,
            )
            continue
        found.append(color.rgb_to_lightness(pixels.astype(np.float32) / 255))
        if len(found) == count:
            break
    if not found:
        raise TrainingError(f"--parity-photos {folder}: no readable photo of at least {MIN_PARITY_SIDE} px in it")
    return found


def _render_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= contract.MAX_RENDER_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of pixels, 1 to {contract.MAX_RENDER_SIZE}")
    return value


def _output_problem(output: Path, overwrite: bool) -> str | None:
    """Why the model file cannot be written at ``output``, found before the export starts."""
    if output.is_dir():
        return f"-o {output} is a folder; give the path of the .onnx file to write (for example {output / 'mine.onnx'})"
    if output.exists() and not overwrite:
        return f"{output} exists; pass --overwrite to replace it"
    folder = output.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        return f"-o {output}: {folder} is a file, so no folder can be made there"
    return None


def _load_source(args: argparse.Namespace) -> tuple[nn.Module, dict, str | None, bool]:
    """(generator, run settings, trained_on text, mirror-averaged) of a run, a checkpoint or an exported model."""
    from training.onnx_io.from_onnx import export_source, is_exported_model, resolve

    if not args.run.is_dir() and is_exported_model(str(args.run)):
        if args.weights != "ema":
            raise TrainingError("--weights raw needs a training checkpoint: an exported model holds one set of weights")
        generator, config, trained_on, mirror_average = export_source(resolve(str(args.run)))
        return generator, config, args.trained_on or trained_on, mirror_average or args.mirror_average
    generator, config = load_generator(args.run, args.weights)
    return generator, config, args.trained_on, args.mirror_average


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="colorize-export", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "run",
        type=Path,
        help="run folder (uses last.pt), checkpoint file, or an exported .onnx model ('shipped': "
        "the default one) to export again with another --chroma-gain or --temperature (the "
        "file's gain is replaced, not multiplied)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument(
        "--render-size",
        type=_render_size,
        help="default render size written to the metadata (default: that of the model the run "
        f"started from with --init-from, else {DEFAULT_RENDER_SIZE})",
    )
    parser.add_argument("--trained-on", help="one line for the model card (default: data folders and steps)")
    parser.add_argument("--parity-photos", type=Path, help="folder of photos to include in the parity check")
    parser.add_argument(
        "--float32-weights",
        action="store_true",
        help="store the weights in float32 (twice the size; the default float16 storage computes "
        "in float32 all the same)",
    )
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema", help="EMA (default) or raw weights")
    parser.add_argument(
        "--chroma-gain",
        type=float,
        default=1.0,
        help="scale the predicted ab (default 1.0: as trained). A run that started from the shipped "
        "model trained without its gain (1.17): give a gain again, or the export is paler; "
        "colorize-calibrate reads one off held-out photos",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        help="a bins model's annealing temperature (default: the run's --bins-temperature, "
        f"{ab_bins.DEFAULT_TEMPERATURE:g} unless set; lower leans towards the likeliest colour, "
        "1 is the mean of the distribution)",
    )
    parser.add_argument(
        "--mirror-average",
        action="store_true",
        help="average the predictions for the photo and its mirror image (twice the network time)",
    )
    args = parser.parse_args(argv)
    interrupt_on_sigterm()
    if not (args.chroma_gain > 0 and math.isfinite(args.chroma_gain)):
        parser.error("--chroma-gain must be a number above 0")
    if args.temperature is not None and not (args.temperature > 0 and math.isfinite(args.temperature)):
        parser.error("--temperature must be a number above 0")
    if problem := _output_problem(args.output, args.overwrite):
        parser.error(problem)
    try:
        reference, config, trained_on, mirror_average = _load_source(args)  # unfolded: parity is measured against it
        if args.temperature is not None:
            set_temperature(reference, args.temperature)
        if mirror_average:
            reference = MirrorAverage(reference).eval()
        scale_chroma(reference, args.chroma_gain)
        exported = fold_batch_norms(copy.deepcopy(reference))
        info = model_info(config, exported, args.render_size, trained_on, args.chroma_gain, mirror_average)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        results, partial = write_model(
            reference, exported, info, args.output, not args.float32_weights, _real_lightness(args.parity_photos)
        )
        for name, delta in results:
            print(f"parity {name}: max |delta ab| = {delta:.2e}")
        try:
            os.replace(partial, args.output)
        finally:
            partial.unlink(missing_ok=True)
    except (TrainingError, FileNotFoundError) as error:
        print(f"colorize-export: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a read-only folder: write_model left nothing partial
        print(f"colorize-export: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("colorize-export: stopped; nothing was written", file=sys.stderr)
        return 130
    size_mb = args.output.stat().st_size / 1e6
    print(
        f"wrote {args.output} ({size_mb:.1f} MB, {info.arch}, multiple {info.size_multiple}, "
        f"render size {info.default_render_size}); parity ok"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
