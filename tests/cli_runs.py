"""What the command-line tests share: the `colorize` command run in this process, and small gray photos on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gimp_plugin.cli import main as cli


def run(*args) -> int:
    """`colorize ARGS...` in this process; its exit status."""
    return cli.main([str(a) for a in args])


def save_gray(path: Path, size=(24, 16), **options) -> Path:
    """A small gray ramp at ``path`` (its folders made); ``options`` go to Pillow's save (an ICC profile, say)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.tile(np.arange(size[0], dtype=np.uint8) * 9, (size[1], 1))).save(path, **options)
    return path
