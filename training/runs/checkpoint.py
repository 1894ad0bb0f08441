"""Checkpoints: plain tensors and numbers only, written atomically, read with torch.load(weights_only=True)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from training.common.errors import TrainingError


def save_atomic(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename: a killed run never leaves half a file. The
    temporary file is created exclusively (never through a name or link someone placed there) and removed when the
    write fails (a full disk: TrainingError), or is interrupted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise TrainingError(f"cannot write the checkpoint {path}: {error.strerror or error}") from error
    finally:
        Path(temporary).unlink(missing_ok=True)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint without unpickling arbitrary objects."""
    if not Path(path).is_file():
        raise TrainingError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated, foreign, or pickles that weights_only refuses
        raise TrainingError(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(state, dict) or "config" not in state:
        raise TrainingError(f"{path} is not a colorize-train checkpoint (no run settings in it)")
    return state


def find(run_or_checkpoint: Path) -> Path:
    """The checkpoint file itself, or a run folder's latest one."""
    path = Path(run_or_checkpoint)
    return path / "last.pt" if path.is_dir() else path
