"""`colorize`: colorize black-and-white photos from the command line, one file or whole folders."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from gimp_plugin import __version__
from gimp_plugin.cli.batch import BatchPlan, Shard, same_file
from gimp_plugin.cli.photo import DONE_BEFORE, FAILED, WRITTEN, Outcome, Settings, run_task
from gimp_plugin.cli.report import Report
from gimp_plugin.cli.terminal import printable
from gimp_plugin.core.contract import MAX_RENDER_SIZE
from gimp_plugin.core.errors import ColorizeError, InputError
from gimp_plugin.core.pipeline import MAX_SATURATION
from gimp_plugin.core.session import DEVICES, ColorizationModel, load_model
from gimp_plugin.guidance import reference
from gimp_plugin.guidance.suggest import MAX_SUGGESTIONS
from gimp_plugin.images.reading import read_image

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
ALPHA_EXTENSIONS = (".png", ".tif", ".tiff", ".webp")  # formats that keep a hint image's transparency


MIN_RENDER_SIZE = 32  # below this the network sees a few cells of the photo: a flat wash


def _saturation(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or not 0 <= value <= MAX_SATURATION:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number from 0 to {MAX_SATURATION:g} (1 = as predicted)")
    return value


def _render_size(text: str) -> int:
    value = int(text)
    if not MIN_RENDER_SIZE <= value <= MAX_RENDER_SIZE:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give {MIN_RENDER_SIZE} to {MAX_RENDER_SIZE} pixels (the longer side the network sees; the "
            "model's default suits most photos)"
        )
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive whole number")
    return value


def _capped_threads(args: argparse.Namespace) -> None:
    """More threads than cores only slow the run (thousands would stop it answering Ctrl-C): capped, with a note."""
    cores = os.cpu_count() or 1
    if args.threads is not None and args.threads > cores:
        _say(f"colorize: note: --threads {args.threads}: this machine has {cores} CPU thread(s); using {cores}")
        args.threads = cores


def _suggestion_count(text: str) -> int:
    value = _positive(text)
    if value > MAX_SUGGESTIONS:
        raise argparse.ArgumentTypeError(f"{text}: give 1 to {MAX_SUGGESTIONS} points")
    return value


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _cluster(text: str) -> str:
    from gimp_plugin.cli.cluster import parse_address

    try:
        parse_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _file_path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorize",
        description="Colorize black-and-white photos with an ONNX model. Luminance is kept exactly; "
        "only color is added.",
        epilog="Examples:\n  colorize photo.jpg -o photo_color.png\n  colorize scans/ more.tif -o colorized/\n"
        "  colorize archive/ -o colorized/ --report run.jsonl --shard 3/100",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", type=_file_path, help="image files and/or folders (searched recursively)")
    parser.add_argument(
        "-o", "--output", required=True, help="output file (one input) or folder (several, a folder, or ending in /)"
    )
    parser.add_argument("--model", type=_file_path, help="ONNX model (default: the shipped model, or $COLORIZE_MODEL)")
    parser.add_argument(
        "--render-size", type=_render_size, help="longer side the model runs at: higher is slower, sometimes better"
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
    parser.add_argument("--threads", type=_positive, help="CPU threads (default: all cores, at most 4 for pre/post)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="redo photos whose output already exists (by default they count as done before, so a "
        "batch run again after a crash or with new scans does only what is left)",
    )
    archive = parser.add_argument_group("whole archives")
    archive.add_argument(
        "--report",
        type=_file_path,
        metavar="FILE.jsonl",
        help="append one JSON line per input (input, output, status, message, seconds) as the run goes",
    )
    archive.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        default=Shard(),
        help="do only share I of N (0 <= I < N), chosen by a stable hash of each input's path: N "
        "runs together do every photo once, e.g. a Slurm array's "
        "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    archive.add_argument(
        "--cluster",
        type=_cluster,
        metavar="ADDRESS",
        help="run on Dask distributed: local, local:N (N worker processes here) or the address of a "
        "running scheduler, tcp://HOST:PORT (needs ./install.sh --cluster)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only; no progress bar")
    parser.add_argument("--version", action="version", version=f"colorize {__version__}")
    return parser


def _load_reference(path: Path, model: ColorizationModel, render_size: int | None) -> reference.Reference:
    """A --reference photo, read (its color profile applied) and prepared once, before any photo is done."""
    loaded = read_image(path, what=f"the reference {path}")
    return reference.prepare_reference(loaded.pixels, model, render_size, name=f"the reference {path}")


def _settings(args: argparse.Namespace, references: list[reference.Reference]) -> Settings:
    return Settings(
        render_size=args.render_size,
        saturation=args.saturation,
        hints=args.hints,
        references=tuple(references),
        suggest_hints=args.suggest_hints,
        uncertainty_map=args.uncertainty_map,
        threads=args.threads,
        overwrite=args.overwrite,
    )


def _check_single_input_options(args: argparse.Namespace) -> None:
    single = len(args.inputs) == 1 and not args.inputs[0].is_dir()
    for flag, value in (
        ("--hints", args.hints),
        ("--suggest-hints", args.suggest_hints),
        ("--uncertainty-map", args.uncertainty_map),
    ):
        if value is not None and not single:
            raise InputError(f"{flag} applies to one input image; give a single file")
    if args.suggest_hints and args.output.suffix.lower() not in ALPHA_EXTENSIONS:
        raise InputError(
            f"--suggest-hints writes a transparent hint image: name -o with one of "
            f"{', '.join(ALPHA_EXTENSIONS)}, not {args.output.name}"
        )
    if args.uncertainty_map is not None:
        kept = [*args.inputs, *([args.hints] if args.hints else []), *(args.reference or []), args.output]
        if any(same_file(args.uncertainty_map, path) for path in kept):
            raise InputError(
                f"--uncertainty-map {args.uncertainty_map} is the input, the hint image, a reference or "
                "the output; name another file"
            )
    for flag, path in [("--hints", args.hints), *(("--reference", path) for path in args.reference or [])]:
        if path is not None and path.is_dir():
            what = "one RGBA hint image" if flag == "--hints" else "one color photo (repeat --reference for several)"
            raise InputError(f"{flag} {path} is a folder; give {what}")


def _progress_bar(total: int, quiet: bool):
    if quiet or total < 2:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="image", desc="Colorizing", file=sys.stderr)


def _say(message: str) -> None:
    message = printable(message)  # names and profile descriptions come from files: no escape reaches the terminal
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


class Tally:
    """Counts, reports and prints each input's outcome as it comes."""

    def __init__(self, report: Report | None, progress, single: bool, quiet: bool):
        self.report, self.progress, self.single, self.quiet = report, progress, single, quiet
        self.counts = {WRITTEN: 0, DONE_BEFORE: 0, FAILED: 0}

    def __call__(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        if self.report is not None:
            self.report.add(outcome)
        if outcome.status == FAILED:
            source = f"{outcome.input}: " if not outcome.message.startswith(outcome.input) else ""
            _say(f"colorize: skipped {source}{outcome.message}")
        for note in outcome.notes:
            _say(f"colorize: note: {outcome.input}: {note}")
        if outcome.status == WRITTEN and self.single and not self.quiet:
            print(printable(f"{outcome.input} -> {outcome.output}"), file=sys.stderr)
        if self.progress is not None:
            self.progress.update(1)

    def failed(self, source: str, message: str, destination: str | None = None) -> None:
        self(Outcome(source, destination, FAILED, message))


def _run_here(tasks, model: ColorizationModel, settings: Settings, tally: Tally) -> None:
    for task in tasks:
        if task.refused is not None:
            tally.failed(str(task.source), task.refused, str(task.destination))
        else:
            tally(run_task(task.source, task.destination, model, settings))


def _run_on_cluster(tasks, args: argparse.Namespace, model: ColorizationModel, settings: Settings, tally: Tally):
    from gimp_plugin.cli.cluster import file_digest, run_on_cluster

    # the file the workers load; each checks by its digest that it has the same one
    spec = {
        "model_path": str(model.path),
        "digest": file_digest(model.path),
        "device": args.device,
        "threads": args.threads,
    }

    def good_ones():
        for task in tasks:
            if task.refused is not None:
                tally.failed(str(task.source), task.refused, str(task.destination))
            elif task.destination.exists() and not settings.overwrite:
                tally(Outcome(str(task.source), str(task.destination), DONE_BEFORE))  # no need to send it
            else:
                yield task.source, task.destination

    run_on_cluster(args.cluster, good_ones(), settings, spec, tally)


def _reopen_closed_streams() -> None:
    """A launcher or cron job may start us with stderr or stdout closed (``2>&-``): messages then go nowhere
    instead of stopping the run."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - open for the whole process


def _summary(tally: Tally, plan: BatchPlan, args: argparse.Namespace) -> int:
    counts, total = tally.counts, sum(tally.counts.values())
    if not total and plan.all_shards:
        _say(f"colorize: none of the {plan.all_shards} input(s) fall in shard {args.shard.index}/{args.shard.count}")
        return EXIT_OK
    if not total:
        print("colorize: error: no images found in the given folders", file=sys.stderr)
        return EXIT_SOME_FAILED
    if plan.appeared:
        _say(f"colorize: note: {plan.appeared} input(s) appeared while the run was planned; run again to do them")
    if counts[DONE_BEFORE] and not args.quiet:
        them = "them" if counts[DONE_BEFORE] > 1 else "it"
        _say(f"colorize: {counts[DONE_BEFORE]} done before (pass --overwrite to redo {them})")
    if counts[FAILED]:
        print(f"colorize: {counts[FAILED]} of {total} input(s) failed", file=sys.stderr)
        return EXIT_SOME_FAILED
    if not args.quiet and total > 1:
        print(printable(f"colorize: {counts[WRITTEN]} images written to {args.output}"), file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    _reopen_closed_streams()
    args = build_parser().parse_args(argv)
    output_is_folder = args.output.endswith(("/", os.sep))
    args.output = Path(args.output)
    _stop_on_signals()
    _capped_threads(args)
    missing = [path for path in args.inputs if not path.exists()]
    report = None
    try:
        _check_single_input_options(args)
        existing = [path for path in args.inputs if path.exists()]
        protected = (*([args.hints] if args.hints is not None else []), *(args.reference or []))
        plan = BatchPlan(
            existing,
            args.output,
            args.format,
            batch=len(args.inputs) > 1,
            output_is_folder=output_is_folder,
            protected=protected,
            shard=args.shard,
        )
        if args.cluster:
            from gimp_plugin.cli.cluster import require_distributed

            require_distributed()  # said before the model loads: what to install
        model = load_model(args.model, device=args.device, threads=args.threads)
        references = [_load_reference(path, model, args.render_size) for path in args.reference or []]
        report = Report(args.report, existing) if args.report is not None else None
    except ColorizeError as error:
        print(printable(f"colorize: error: {error}"), file=sys.stderr)
        return EXIT_USAGE
    for note in plan.notes:
        _say(f"colorize: note: {note}")
    for folder in plan.passed:
        if not folder.unreadable:
            _say(f"colorize: note: {folder.path}: {folder.reason}")
    settings = _settings(args, references)
    progress = _progress_bar(plan.total + len(missing), args.quiet)
    tally = Tally(report, progress, single=plan.total + len(missing) == 1, quiet=args.quiet)
    try:
        for path in missing:
            tally.failed(str(path), f"{path}: no such file or folder")
        for folder in plan.passed:
            if folder.unreadable:
                tally.failed(folder.path, f"{folder.path}: {folder.reason}")
        if args.cluster:
            _run_on_cluster(plan.tasks(), args, model, settings, tally)
        else:
            _run_here(plan.tasks(), model, settings, tally)
    except (KeyboardInterrupt, Stopped) as stop:
        print(
            f"colorize: stopped ({str(stop) or 'interrupted'}); finished outputs are kept, no partial file is left",
            file=sys.stderr,
        )
        return 128 + stop.number if isinstance(stop, Stopped) else EXIT_INTERRUPTED
    except ColorizeError as error:  # the cluster could not be reached or started
        print(printable(f"colorize: error: {error}"), file=sys.stderr)
        return EXIT_USAGE
    finally:
        if progress is not None:
            progress.close()
        if report is not None:
            report.close()
    return _summary(tally, plan, args)
