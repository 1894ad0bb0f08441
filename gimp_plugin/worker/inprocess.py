"""The bridge's in-process path: a ``bridge.Job`` through ``jobs`` in this Python, and back to bytes."""

from __future__ import annotations

from .bridge import BridgeError
from .errors import ColorizeError
from .jobs import cached_model, execute

_MODELS: dict = {}  # path -> loaded model, so repeated runs in one GIMP session skip the load


def default_render_size(path: str | None) -> int:
    return cached_model(path or None, _MODELS).info.default_render_size


def colorize_job(job, progress=None) -> tuple[bytes, int]:
    parts = iter(job.payloads())

    def read(size: int) -> bytes:
        return next(parts, b"")

    try:
        result = execute(job.header(), read, progress, _MODELS)
    except ColorizeError as error:
        raise BridgeError(str(error)) from error
    except MemoryError as error:
        raise BridgeError("out of memory: try a smaller image or a lower render size") from error
    return result.tobytes(), result.shape[2]
