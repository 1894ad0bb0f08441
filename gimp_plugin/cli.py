"""`colorize`: colorize black-and-white photos from the command line, one file or whole folders."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .errors import ColorizeError, InputError
from .hints import hints_from_rgba
from .image_io import IMAGE_EXTENSIONS, read_image, write_image
from .model import DEVICES, ColorizationModel, load_model
from .pipeline import colorize

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorize",
        description="Colorize black-and-white photos with an ONNX model. Luminance is kept exactly; "
        "only color is added.",
        epilog="Examples:\n  colorize photo.jpg -o photo_color.png\n  colorize scans/ more.tif -o colorized/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="image files and/or folders (searched recursively)")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="output file (one input) or folder (several, or a folder)"
    )
    parser.add_argument("--model", type=Path, help="ONNX model (default: the shipped model, or $COLORIZE_MODEL)")
    parser.add_argument(
        "--render-size", type=int, help="longer side the model runs at: higher is slower, sometimes better"
    )
    parser.add_argument("--saturation", type=float, default=1.0, help="scale the predicted color (0 = gray)")
    parser.add_argument("--hints", type=Path, help="RGBA image: every opaque pixel's color is a hint (one input only)")
    parser.add_argument("--format", help="output extension for folder runs, e.g. png (default: keep the input's)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores, at most 4 for pre/post)")
    parser.add_argument("--overwrite", action="store_true", help="replace output files that already exist")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only; no progress bar")
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    return parser


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS and not name.startswith("."):
                yield Path(root) / name


def plan_outputs(
    inputs: list[Path], output: Path, extension: str | None, batch: bool = False
) -> list[tuple[Path, Path]]:
    """(source, destination) pairs. One file in: ``output`` is the file (or a folder to put it in). Several, or a
    folder (or ``batch``): ``output`` is a folder, and a folder's images keep their path relative to it."""
    suffix = None if extension is None else "." + extension.lower().lstrip(".")
    if suffix is not None and suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"--format {extension}: use one of {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")
    single_file = not batch and len(inputs) == 1 and not inputs[0].is_dir() and not output.is_dir()
    if single_file:
        destination = output if suffix is None else output.with_suffix(suffix)
        return [(inputs[0], destination)]
    pairs = []
    for source in inputs:
        if source.is_dir():
            pairs += [(path, output / path.relative_to(source)) for path in _walk(source)]
        else:
            pairs.append((source, output / source.name))
    return [(src, dst if suffix is None else dst.with_suffix(suffix)) for src, dst in pairs]


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve() or (second.exists() and os.path.samefile(first, second))
    except OSError:
        return False


def colorize_file(source: Path, destination: Path, model: ColorizationModel, args: argparse.Namespace) -> list[str]:
    """Colorize one file; returns notes for the user. Raises ColorizeError on failure."""
    if _same_file(source, destination):
        raise InputError(f"{destination} is the input itself; choose another output")
    if destination.exists() and not args.overwrite:
        raise InputError(f"{destination} exists; pass --overwrite to replace it")
    loaded = read_image(source)
    hints = None
    if args.hints is not None:
        hints = hints_from_rgba(read_image(args.hints).pixels)
    result = colorize(
        loaded.pixels,
        model,
        render_size=args.render_size,
        saturation=args.saturation,
        hints=hints,
        threads=args.threads,
    )
    write_image(destination, result, overwrite=args.overwrite, icc_profile=loaded.icc_profile)
    return loaded.notes


def _progress(pairs: list, quiet: bool):
    if quiet or len(pairs) < 2:
        return pairs
    from tqdm import tqdm

    return tqdm(pairs, unit="image", desc="Colorizing", file=sys.stderr)


def _say(message: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)
    except ImportError:  # pragma: no cover
        print(message, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = [str(path) for path in args.inputs if not path.exists()]
    try:
        if args.hints is not None and (len(args.inputs) != 1 or args.inputs[0].is_dir()):
            raise InputError("--hints applies to one input image; give a single file")
        if args.render_size is not None and args.render_size < 1:
            raise InputError("--render-size must be a positive number of pixels")
        existing = [path for path in args.inputs if path.exists()]
        pairs = plan_outputs(existing, args.output, args.format, batch=len(args.inputs) > 1)
        model = load_model(args.model, device=args.device, threads=args.threads)
    except ColorizeError as error:
        print(f"colorize: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    failures = [f"{path}: no such file or folder" for path in missing]
    for message in failures:
        _say(f"colorize: skipped {message}")
    for source, destination in _progress(pairs, args.quiet):
        try:
            notes = colorize_file(source, destination, model, args)
        except ColorizeError as error:
            failures.append(str(error))
            _say(f"colorize: skipped {source}: {error}")
            continue
        except MemoryError:
            failures.append(f"{source}: out of memory")
            _say(f"colorize: skipped {source}: out of memory; try a smaller image or fewer --threads")
            continue
        for note in notes:
            _say(f"colorize: note: {source}: {note}")
        if not args.quiet and len(pairs) == 1:
            print(f"{source} -> {destination}", file=sys.stderr)
    if not pairs and not failures:
        print("colorize: error: no images found in the given folders", file=sys.stderr)
        return EXIT_SOME_FAILED
    if failures:
        print(f"colorize: {len(failures)} of {len(pairs) + len(missing)} input(s) failed", file=sys.stderr)
        return EXIT_SOME_FAILED
    if not args.quiet and len(pairs) > 1:
        print(f"colorize: {len(pairs)} images written to {args.output}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
