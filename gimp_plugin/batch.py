"""Which file goes where in a `colorize` run, decided before any work starts.

No input is ever written over (not even another input of the same run, nor the hint image, whatever --format and
--overwrite say), two inputs never share an output name, an output folder inside an input folder is not read as
input, and every output folder is known to take files before the first photo is colorized.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .image_io import IMAGE_EXTENSIONS
from .image_write import unwritable_reason


@dataclass
class Plan:
    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (input, output) to colorize, in order
    refused: list[str] = field(default_factory=list)  # inputs that cannot be done, with the reason
    notes: list[str] = field(default_factory=list)  # what the planner changed, for the user


def _resolved(path: Path) -> Path:
    return Path(os.path.normcase(path.resolve()))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def walk_images(folder: Path, skip: Path | None = None) -> Iterator[Path]:
    """Image files under ``folder`` in a stable order; hidden entries and the folder ``skip`` are left out."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            name for name in dirs
            if not name.startswith(".") and not (skip and _inside(_resolved(Path(root) / name), skip))
        )  # fmt: skip
        for name in sorted(files):
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS and not name.startswith("."):
                yield Path(root) / name


def _pairs(inputs: list[Path], output: Path, suffix: str | None, folder_output: bool) -> list[tuple[Path, Path]]:
    if not folder_output:
        return [(inputs[0], output if suffix is None else output.with_suffix(suffix))]
    skip = _resolved(output)
    pairs = []
    for source in inputs:
        if source.is_dir():
            pairs += [(path, output / path.relative_to(source)) for path in walk_images(source, skip)]
        else:
            pairs.append((source, output / source.name))
    return [(src, dst if suffix is None else dst.with_suffix(suffix)) for src, dst in pairs]


def _without_repeats(pairs: list[tuple[Path, Path]], notes: list[str]) -> list[tuple[Path, Path]]:
    """The same file named twice (or found in a folder and named again) is done once."""
    seen, kept = set(), []
    for source, destination in pairs:
        key = (_resolved(source), _resolved(destination))
        if key in seen:
            notes.append(f"{source} was given more than once; it is colorized once")
            continue
        seen.add(key)
        kept.append((source, destination))
    return kept


def _check_output_kind(inputs: list[Path], output: Path, folder_output: bool, batch: bool) -> None:
    """Refuse, before any work, an output that cannot be what the inputs need."""
    suffix = output.suffix.lower()
    if folder_output and not output.is_dir() and suffix in IMAGE_EXTENSIONS and (batch or inputs[0].is_dir()):
        what = "a folder" if len(inputs) == 1 else "several inputs"
        raise InputError(f"-o {output} names an image file, but the input is {what}: give an output folder "
                         "(it is made if needed)")  # fmt: skip
    if not folder_output and suffix not in IMAGE_EXTENSIONS:
        kind = f"unknown output format {suffix!r}" if suffix else "no file extension to choose the format by"
        raise InputError(f"-o {output}: {kind}; name a file ending in {', '.join(IMAGE_EXTENSIONS)}, "
                         "or a folder (end it with /)")  # fmt: skip


def _is_an_input(destination: Path, inputs: dict[Path, Path]) -> Path | None:
    """The input that ``destination`` is (by path, or the same file under another name), or None."""
    found = inputs.get(_resolved(destination))
    if found is None and destination.exists():
        found = next((src for src in inputs.values() if _same_file(src, destination)), None)
    return found


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def plan_outputs(
    inputs: list[Path],
    output: Path,
    extension: str | None,
    batch: bool = False,
    *,
    output_is_folder: bool = False,
    protected: tuple[Path, ...] = (),
) -> Plan:
    """(input, output) pairs. One file in: ``output`` is the file (or a folder to put it in, when it is one or
    ``output_is_folder``). Several, or a folder (or ``batch``): ``output`` is a folder, and a folder's images keep
    their path relative to it.

    Pairs whose output is one of the inputs, or one of the ``protected`` files (a hint image), are refused, and so
    are pairs whose output folder does not take files; two inputs with one output name stop the whole run
    (InputError), since either choice would lose a result, and so does an output of the wrong kind."""
    suffix = None if extension is None else "." + extension.lower().lstrip(".")
    if suffix is not None and suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"--format {extension}: use one of {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")
    plan = Plan()
    if not inputs:
        return plan
    folder_output = batch or output_is_folder or output.is_dir() or any(path.is_dir() for path in inputs)
    _check_output_kind(inputs, output, folder_output, batch)
    pairs = _without_repeats(_pairs(inputs, output, suffix, folder_output), plan.notes)
    sources = {_resolved(src): src for src, _ in pairs}
    by_destination: dict[Path, list[Path]] = defaultdict(list)
    for source, destination in pairs:
        by_destination[_resolved(destination)].append(source)
    collisions = [(dst, srcs) for dst, srcs in by_destination.items() if len(srcs) > 1]
    if collisions:
        shown = "; ".join(f"{' and '.join(map(str, srcs))} -> {dst}" for dst, srcs in collisions[:5])
        more = f" (and {len(collisions) - 5} more)" if len(collisions) > 5 else ""
        raise InputError(f"some inputs would be written to the same output file: {shown}{more}. Nothing was done; "
                         "colorize them into separate folders, or keep their formats (no --format)")  # fmt: skip
    kept = {_resolved(path): path for path in protected}
    folders: dict[Path, str | None] = {}
    for source, destination in pairs:
        overwritten = _is_an_input(destination, sources)
        guarded = _is_an_input(destination, kept)
        folder = destination.parent
        if folder not in folders:
            folders[folder] = unwritable_reason(folder)
        if overwritten is not None:
            which = "the input itself" if overwritten == source else f"another input ({overwritten})"
            plan.refused.append(f"{source}: its output {destination} is {which}; choose another output")
        elif guarded is not None:
            plan.refused.append(f"{source}: its output {destination} is an input ({guarded}: a hint image or a "
                                "reference), which is never written over; choose another output")  # fmt: skip
        elif folders[folder] is not None:
            plan.refused.append(f"{source}: cannot write {destination}: {folders[folder]}")
        else:
            plan.pairs.append((source, destination))
    return plan
