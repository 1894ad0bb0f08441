"""`colorize`: colorize black-and-white photos from the command line, one file or whole folders."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from . import __version__, reference
from .batch import plan_outputs
from .errors import ColorizeError, InputError
from .hints import read_hints
from .image_io import read_image
from .image_write import write_image
from .model import DEVICES, ColorizationModel, load_model
from .pipeline import colorize, render_shape
from .suggest import MAX_SUGGESTIONS, dots_image, opaque_pixels, suggest_from
from .uncertainty import analyse, heat_map

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
ALPHA_EXTENSIONS = (".png", ".tif", ".tiff", ".webp")  # formats that keep a hint image's transparency


def _saturation(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number from 0 up (1 = as predicted)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive whole number")
    return value


def _threads(text: str) -> int:
    value, cores = _positive(text), os.cpu_count() or 1
    if value > cores:  # thousands of threads would starve the machine and no longer answer Ctrl-C or SIGTERM
        raise argparse.ArgumentTypeError(f"{text}: this machine has {cores} CPU thread(s); give 1 to {cores}")
    return value


def _suggestion_count(text: str) -> int:
    value = _positive(text)
    if value > MAX_SUGGESTIONS:
        raise argparse.ArgumentTypeError(f"{text}: give 1 to {MAX_SUGGESTIONS} points")
    return value


def _file_path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorize",
        description="Colorize black-and-white photos with an ONNX model. Luminance is kept exactly; "
        "only color is added.",
        epilog="Examples:\n  colorize photo.jpg -o photo_color.png\n  colorize scans/ more.tif -o colorized/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", type=_file_path, help="image files and/or folders (searched recursively)")
    parser.add_argument(
        "-o", "--output", required=True, help="output file (one input) or folder (several, a folder, or ending in /)"
    )
    parser.add_argument("--model", type=_file_path, help="ONNX model (default: the shipped model, or $COLORIZE_MODEL)")
    parser.add_argument(
        "--render-size", type=_positive, help="longer side the model runs at: higher is slower, sometimes better"
    )
    parser.add_argument("--saturation", type=_saturation, default=1.0, help="scale the predicted color (0 = gray)")
    parser.add_argument(
        "--hints", type=_file_path, help="RGBA image: every opaque pixel's color is a hint (one input only)"
    )
    parser.add_argument(
        "--reference",
        type=_file_path,
        action="append",
        metavar="FILE",
        help="a color photo of the same place (or thing): its colors are carried over where it matches the photo "
        "with confidence, and nowhere else; repeat for several (in a folder run they serve every photo)",
    )
    parser.add_argument(
        "--suggest-hints",
        type=_suggestion_count,
        metavar="N",
        help="instead of colorizing, write to -o an RGBA hint image with N dots where hints would help "
        "most, in the model's guess of their colors: recolor the dots and pass the file to --hints",
    )
    parser.add_argument(
        "--uncertainty-map",
        type=_file_path,
        metavar="FILE",
        help="also write where the model is unsure of its color, as a picture (one input only)",
    )
    parser.add_argument("--format", help="output extension for folder runs, e.g. png (default: keep the input's)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--threads", type=_threads, help="CPU threads (default: all cores, at most 4 for pre/post)")
    parser.add_argument("--overwrite", action="store_true", help="replace output files that already exist")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only; no progress bar")
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    return parser


def colorize_file(source: Path, destination: Path, model: ColorizationModel, args: argparse.Namespace) -> list[str]:
    """Colorize one file (or, with --suggest-hints, write its suggested hint dots); returns notes for the user.
    Raises ColorizeError on failure."""
    for target in (destination, args.uncertainty_map):
        if target is not None and target.exists() and not args.overwrite:
            raise InputError(f"{target} exists; pass --overwrite to replace it")
    loaded = read_image(source)
    hints = None
    if args.hints is not None:
        height, width = loaded.pixels.shape[:2]
        hints = read_hints(args.hints, render_shape(height, width, args.render_size or model.info.default_render_size))
    notes = list(loaded.notes)
    if args.references:
        hints, carried, share = reference.hints_for(loaded.pixels, model, args.references, hints, args.render_size,
                                                    args.threads)  # fmt: skip
        if not carried:
            notes.append(f"the reference matched too little of this photo ({share:.0%} of it); colorized without it")
    if args.suggest_hints or args.uncertainty_map:
        analysis = analyse(loaded.pixels, model, render_size=args.render_size, hints=hints, threads=args.threads)
        if args.uncertainty_map:
            write_image(args.uncertainty_map, heat_map(analysis), overwrite=args.overwrite)
        if args.suggest_hints:
            suggestions = suggest_from(analysis, args.suggest_hints)
            write_image(destination, dots_image(suggestions, where=opaque_pixels(loaded.pixels)),
                        overwrite=args.overwrite)  # fmt: skip
            placed, asked = len(suggestions.points), args.suggest_hints
            return [*notes, *([f"only {placed} of {asked} points fit this photo"] if placed < asked else [])]
    result = colorize(
        loaded.pixels,
        model,
        render_size=args.render_size,
        saturation=args.saturation,
        hints=hints,
        threads=args.threads,
    )
    del loaded.pixels  # the input's memory is free before the output is encoded
    write_image(destination, result, overwrite=args.overwrite, icc_profile=loaded.icc_profile)
    return notes


def _load_reference(path: Path, model: ColorizationModel, args: argparse.Namespace) -> reference.Reference:
    """A --reference photo, read (its color profile applied) and prepared once, before any photo is done."""
    loaded = read_image(path, what=f"the reference {path}")
    return reference.prepare_reference(loaded.pixels, model, args.render_size, name=f"the reference {path}")


def _check_single_input_options(args: argparse.Namespace) -> None:
    single = len(args.inputs) == 1 and not args.inputs[0].is_dir()
    for flag, value in (("--hints", args.hints), ("--suggest-hints", args.suggest_hints),
                        ("--uncertainty-map", args.uncertainty_map)):  # fmt: skip
        if value is not None and not single:
            raise InputError(f"{flag} applies to one input image; give a single file")
    if args.suggest_hints and args.output.suffix.lower() not in ALPHA_EXTENSIONS:
        raise InputError(f"--suggest-hints writes a transparent hint image: name -o with one of "
                         f"{', '.join(ALPHA_EXTENSIONS)}, not {args.output.name}")  # fmt: skip
    if args.uncertainty_map is not None:
        kept = [*args.inputs, *([args.hints] if args.hints else []), args.output]
        if any(args.uncertainty_map.resolve() == path.resolve() for path in kept):
            raise InputError(f"--uncertainty-map {args.uncertainty_map} is the input, the hint image or the output; "
                             "name another file")  # fmt: skip


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


class Stopped(BaseException):
    """SIGTERM or SIGHUP (a closed terminal): unwinds like Ctrl-C, so temporary files are removed on the way."""

    def __init__(self, number: int):
        super().__init__(signal.Signals(number).name)
        self.number = number


def _stop_on_signals() -> None:
    def stop(number, _frame):
        raise Stopped(number)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _run(pairs, model, args, failures: list[str]) -> None:
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
        except OSError as error:  # anything the file layers did not put in words
            failures.append(f"{source}: {error}")
            _say(f"colorize: skipped {source}: {error.strerror or error}")
            continue
        for note in notes:
            _say(f"colorize: note: {source}: {note}")
        if not args.quiet and len(pairs) == 1:
            print(f"{source} -> {destination}", file=sys.stderr)


def _reopen_closed_streams() -> None:
    """A launcher or cron job may start us with stderr or stdout closed (``2>&-``): messages then go nowhere
    instead of stopping the run."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - open for the whole process


def main(argv: list[str] | None = None) -> int:
    _reopen_closed_streams()
    args = build_parser().parse_args(argv)
    output_is_folder = args.output.endswith(("/", os.sep))
    args.output = Path(args.output)
    _stop_on_signals()
    missing = [str(path) for path in args.inputs if not path.exists()]
    try:
        _check_single_input_options(args)
        existing = [path for path in args.inputs if path.exists()]
        protected = (*([args.hints] if args.hints is not None else []), *(args.reference or []))
        plan = plan_outputs(existing, args.output, args.format, batch=len(args.inputs) > 1,
                            output_is_folder=output_is_folder, protected=protected)  # fmt: skip
        model = load_model(args.model, device=args.device, threads=args.threads)
        args.references = [_load_reference(path, model, args) for path in args.reference or []]
    except ColorizeError as error:
        print(f"colorize: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    failures = [f"{path}: no such file or folder" for path in missing] + plan.refused
    for message in failures:
        _say(f"colorize: skipped {message}")
    for note in plan.notes:
        _say(f"colorize: note: {note}")
    try:
        _run(plan.pairs, model, args, failures)
    except (KeyboardInterrupt, Stopped) as stop:
        print(f"colorize: stopped ({stop or 'interrupted'}); finished outputs are kept, no partial file is left",
              file=sys.stderr)  # fmt: skip
        return 128 + stop.number if isinstance(stop, Stopped) else EXIT_INTERRUPTED
    total = len(plan.pairs) + len(missing) + len(plan.refused)
    if not total:
        print("colorize: error: no images found in the given folders", file=sys.stderr)
        return EXIT_SOME_FAILED
    if failures:
        print(f"colorize: {len(failures)} of {total} input(s) failed", file=sys.stderr)
        return EXIT_SOME_FAILED
    if not args.quiet and len(plan.pairs) > 1:
        print(f"colorize: {len(plan.pairs)} images written to {args.output}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
