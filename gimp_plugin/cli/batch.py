"""Which file goes where in a `colorize` run, checked before any work starts and then streamed.

No input is ever written over (not even another input of the same run, nor a hint image or reference, whatever
--format and --overwrite say), two inputs never share an output name, an output folder inside an input folder is not
read as input, and every output folder is probed once, before the first photo is colorized.

Plans scale to archives: the inputs are walked twice (a check, then the tasks as they are done) and only fixed-size
digests are kept per input, so a million inputs plan in a few hundred MB. ``--shard I/N`` keeps the inputs whose
path relative to their root hashes to I: N runs together do every photo exactly once, in whatever order a file system
lists them. Temporary files left beside this run's outputs by an interrupted run are removed when it is planned.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gimp_plugin.core.errors import InputError
from gimp_plugin.images.reading import IMAGE_EXTENSIONS
from gimp_plugin.images.writing import temporary_prefix, unwritable_reason

# What image_write's temporary names look like: ".NAME." + mkstemp's 8 random characters + ".tmp"
_TEMPORARY_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$", re.DOTALL)
_MAX_SHOWN = 5  # collisions named in the error; the rest are counted
_YIELDED = -1  # no identity is -1: Python's hash() never returns it, and digests are positive


@dataclass(frozen=True)
class Shard:
    """This run's share of the inputs: those whose key hashes to ``index`` modulo ``count``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 0 <= I < N, as a Slurm array gives it: ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 0 <= int(match[1]) < int(match[2]):
            raise ValueError(f"{text!r}: give I/N with 0 <= I < N, e.g. 0/4")
        return cls(int(match[1]), int(match[2]))

    def holds(self, key: str) -> bool:
        return self.count == 1 or _digest(key) % self.count == self.index


@dataclass(frozen=True)
class PassedFolder:
    """A folder whose photos are not in the plan: unreadable (a failure) or a link, not followed (a note)."""

    path: str
    reason: str
    unreadable: bool


@dataclass(frozen=True)
class Task:
    """One input and where its result goes; ``refused`` says why it cannot be done (then nothing is written)."""

    source: Path
    destination: Path
    refused: str | None = None


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "big")


def _resolved(path: Path) -> Path:
    return Path(os.path.normcase(path.resolve()))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _identity(path: str | Path) -> int | None:
    """The file behind ``path`` (links and other names of it alike), or None when there is none."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return hash((status.st_dev, status.st_ino))


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _walk(
    folder: str, skip: Path | None, relative: str = "", passed: list[PassedFolder] | None = None
) -> Iterator[tuple[str, str, int]]:
    """(path, path relative to the first folder, identity) of the image files under ``folder``, in a stable order:
    a folder's files by name, then its subfolders by name. Strings and one directory read per folder, no stat per
    file (a million inputs plan in seconds); hidden entries and the folder ``skip`` are left out. Subfolders that
    cannot be read, and links to folders (not followed: a link may lead back up, or out of the archive), are
    appended to ``passed`` with the reason."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
        device = os.stat(folder).st_dev
    except OSError as error:
        if passed is not None:
            reason = f"cannot read this folder ({error.strerror or error}): its photos were not done"
            passed.append(PassedFolder(folder, reason, unreadable=True))
        return
    folders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if entry.is_symlink():
                if passed is not None:
                    reason = "a link to a folder, not followed: name it as an input to include it"
                    passed.append(PassedFolder(entry.path, reason, unreadable=False))
            elif not (skip and _inside(_resolved(Path(entry.path)), skip)):
                folders.append(entry)
        elif _is_image_name(entry.name) and entry.is_file():
            identity = _identity(entry.path) if entry.is_symlink() else hash((device, entry.inode()))
            if identity is not None:
                yield entry.path, relative + entry.name, identity
    for entry in folders:
        yield from _walk(entry.path, skip, relative + entry.name + "/", passed)


def _check_output_kind(inputs: list[Path], output: Path, folder_output: bool, batch: bool) -> None:
    """Refuse, before any work, an output that cannot be what the inputs need."""
    suffix = output.suffix.lower()
    if folder_output and not output.is_dir() and suffix in IMAGE_EXTENSIONS and (batch or inputs[0].is_dir()):
        what = "a folder" if len(inputs) == 1 else "several inputs"
        raise InputError(
            f"-o {output} names an image file, but the input is {what}: give an output folder (it is made if needed)"
        )
    if not folder_output and suffix not in IMAGE_EXTENSIONS:
        kind = f"unknown output format {suffix!r}" if suffix else "no file extension to choose the format by"
        raise InputError(
            f"-o {output}: {kind}; name a file ending in {', '.join(IMAGE_EXTENSIONS)}, or a folder (end it with /)"
        )


class BatchPlan:
    """The checked plan of a run; ``tasks()`` streams this shard's share of it.

    Made: every input is walked once; two inputs with one output name stop the whole run (InputError), since either
    choice would lose a result, and so does an output of the wrong kind; this shard's output folders are probed and
    stale temporary files of its outputs removed. ``tasks()`` walks again and yields a Task per input of the shard,
    refused where its output is an input (or a protected file: a hint image, a reference) or its folder takes no
    files. ``total`` counts them (``all_shards``: those of every shard); inputs that appear between the two walks are
    left for the next run."""

    def __init__(
        self,
        inputs: list[Path],
        output: Path,
        extension: str | None,
        batch: bool = False,
        *,
        output_is_folder: bool = False,
        protected: tuple[Path, ...] = (),
        shard: Shard = Shard(),
    ):
        self.suffix = None if extension is None else "." + extension.lower().lstrip(".")
        if self.suffix is not None and self.suffix not in IMAGE_EXTENSIONS:
            raise InputError(f"--format {extension}: use one of {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")
        self.inputs, self.output, self.shard = inputs, output, shard
        self.notes: list[str] = []
        self.total = self.appeared = self.all_shards = 0
        self.passed: list[PassedFolder] = []
        self.folder_output = bool(inputs) and (
            batch or output_is_folder or output.is_dir() or any(path.is_dir() for path in inputs)
        )
        if inputs:
            _check_output_kind(inputs, output, self.folder_output, batch)
        if inputs and not self.folder_output and self.suffix is not None and output.suffix.lower() != self.suffix:
            raise InputError(
                f"-o {output} and --format {extension} name two formats; drop --format (the output's "
                "extension chooses the format of a single file)"
            )
        self._first_of: dict[int, int] = {}  # output's digest -> its input's identity (_YIELDED once yielded)
        self._input_files: set[int] = set()
        self._protected = {identity for path in protected if (identity := _identity(path)) is not None}
        self._folders: dict[str, str | None] = {}  # this shard's output folders -> why they take no files
        self._check()

    def _candidates(self, passed: list[PassedFolder] | None = None) -> Iterator[tuple[str, str, str, int]]:
        """(input, output, key, input's identity) in a stable order; key: the input's path relative to its root.
        Folders the walk passes by are appended to ``passed`` when given."""
        if not self.folder_output:
            source = os.fspath(self.inputs[0])
            yield source, self._with_suffix(os.fspath(self.output)), self.inputs[0].name, self._identity_of(source)
            return
        skip, root = _resolved(self.output), os.path.abspath(self.output)
        for source in self.inputs:
            if source.is_dir():
                for path, relative, identity in _walk(os.fspath(source), skip, passed=passed):
                    yield path, self._with_suffix(os.path.join(root, relative)), relative, identity
            else:
                path = os.fspath(source)
                yield path, self._with_suffix(os.path.join(root, source.name)), source.name, self._identity_of(path)

    @staticmethod
    def _identity_of(source: str) -> int:
        identity = _identity(source)
        return identity if identity is not None else _digest(os.path.abspath(source))

    def _with_suffix(self, path: str) -> str:
        return path if self.suffix is None else os.path.splitext(path)[0] + self.suffix

    @staticmethod
    def _output_digest(destination: str) -> int:
        return _digest(os.path.normcase(os.path.abspath(destination)))

    def _check(self) -> None:
        collisions, examples = 0, []
        stale: dict[str, dict[str, list[str]]] = {}  # folder -> its temporary files, read once
        for source, destination, key, identity in self._candidates(self.passed):
            self._input_files.add(identity)
            digest = self._output_digest(destination)
            first = self._first_of.get(digest)
            if first is None:
                self._first_of[digest] = identity
                self.all_shards += 1
            elif first == identity:
                self.notes.append(f"{source} was given more than once; it is colorized once")
            else:
                collisions += 1
                if len(examples) < _MAX_SHOWN:
                    examples.append((destination, source))
            if first is None and self.shard.holds(key):
                self.total += 1
                folder, name = os.path.split(destination)
                self._plan_folder(folder)
                self._remove_stale_temporaries(folder, name, stale)
        if collisions:
            shown = "; ".join(f"{source} and another input -> {destination}" for destination, source in examples)
            more = f" (and {collisions - len(examples)} more)" if collisions > len(examples) else ""
            raise InputError(
                f"some inputs would be written to the same output file: {shown}{more}. Nothing was done; "
                "colorize them into separate folders, or keep their formats (no --format)"
            )

    def _plan_folder(self, folder: str) -> None:
        if folder not in self._folders:
            self._folders[folder] = unwritable_reason(Path(folder))

    def _remove_stale_temporaries(self, folder: str, name: str, stale: dict[str, dict[str, list[str]]]) -> None:
        """Remove the temporary files an interrupted run left for the output ``name`` in ``folder`` (only this
        shard's outputs, so the shards running beside this one keep theirs); ``stale`` holds each folder's listing."""
        if folder not in stale:
            stale[folder] = temporaries_in(folder)
        if not stale[folder]:
            return
        for path in remove_files(folder, stale[folder].pop(temporary_prefix(name)[1:-1], [])):
            self.notes.append(f"removed {path}, left by an interrupted run")

    def tasks(self) -> Iterator[Task]:
        """This shard's tasks, walking the inputs again; each input once, however often it was named."""
        for source, destination, key, identity in self._candidates():
            if not self.shard.holds(key):
                continue
            digest = self._output_digest(destination)
            first = self._first_of.get(digest)
            if first is None:
                self.appeared += 1  # not there when the plan was checked: the next run does it
                continue
            if first == _YIELDED:  # a repeat, noted when the plan was checked
                continue
            self._first_of[digest] = _YIELDED
            yield Task(Path(source), Path(destination), self._refusal(source, destination, identity))

    def _refusal(self, source: str, destination: str, identity: int) -> str | None:
        existing = _identity(destination)
        if existing is not None and existing == identity:
            return f"{source}: its output {destination} is the input itself; choose another output"
        if existing is not None and existing in self._input_files:
            return f"{source}: its output {destination} is another input; choose another output"
        if existing is not None and existing in self._protected:
            return (
                f"{source}: its output {destination} is an input (a hint image or a reference), which is "
                "never written over; choose another output"
            )
        folder = os.path.dirname(destination)
        self._plan_folder(folder)  # a folder that appeared between the walks is probed now
        reason = self._folders[folder]
        return None if reason is None else f"{source}: cannot write {destination}: {reason}"


def temporaries_in(folder: str) -> dict[str, list[str]]:
    """The temporary files image_write leaves when killed, in ``folder``, by the output name they were for."""
    found: dict[str, list[str]] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                match = _TEMPORARY_NAME.match(entry.name)
                if match and entry.is_file(follow_symlinks=False):
                    found.setdefault(match["name"], []).append(entry.name)
    except OSError:  # a folder not made yet, or not readable: nothing to clean there
        pass
    return found


def remove_orphaned_temporaries(outputs: dict[str, set[str]]) -> list[str]:
    """After a run whose writers have all ended: remove the temporary files of ``outputs`` (folder -> output names)
    whose output now exists (a worker killed while writing it left one, and a retry wrote the output). Returns them."""
    removed = []
    for folder, names in outputs.items():
        for name, temporaries in temporaries_in(folder).items():
            if name in names and os.path.exists(os.path.join(folder, name)):
                removed += remove_files(folder, temporaries)
    return removed


def remove_files(folder: str, names: list[str]) -> list[str]:
    """Remove ``names`` from ``folder`` as far as they can be; returns the paths removed."""
    removed = []
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            removed.append(os.path.join(folder, name))
    return removed


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or one file by two names (a hard link)."""
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
