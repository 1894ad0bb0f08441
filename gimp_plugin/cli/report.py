"""``colorize --report FILE``: one JSON line per input (input, output, status, message, seconds), appended and
flushed as the run goes, so the report of a run that crashed says how far it got, and a resumed run adds to it."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from gimp_plugin.cli.batch import same_file
from gimp_plugin.cli.photo import Outcome
from gimp_plugin.core.errors import InputError
from gimp_plugin.images.reading import IMAGE_EXTENSIONS


class Report:
    def __init__(self, path: Path, inputs: list[Path]):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            raise InputError(f"--report {path} names an image file; name a .jsonl file (it is never an image)")
        if any(same_file(path, source) for source in inputs):
            raise InputError(f"--report {path} is an input; name another file")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags, 0o666)
        except OSError as error:
            reason = "it is a symbolic link" if error.errno == errno.ELOOP else (error.strerror or error)
            raise InputError(f"--report {path}: cannot write it ({reason})") from error
        self.path, self.handle = path, os.fdopen(descriptor, "a", encoding="utf-8")

    def add(self, outcome: Outcome) -> None:
        record = {
            "input": outcome.input,
            "output": outcome.output,
            "status": outcome.status,
            "message": outcome.message,
            "seconds": outcome.seconds,
        }
        # ASCII only: names that are not UTF-8 (surrogate escapes) stay readable as \u escapes, never raw bytes
        self.handle.write(json.dumps(record, ensure_ascii=True) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
