"""The bridge's in-process path: a ``bridge.Job`` through ``jobs`` in this Python, and back to bytes. Failures are
ColorizeError (or MemoryError), which the bridge turns into its own error."""

from __future__ import annotations

from gimp_plugin.core.errors import ColorizeError
from gimp_plugin.worker.jobs import cached_model, execute

__all__ = ["ColorizeError", "colorize_job", "default_render_size"]

_MODELS: dict = {}  # path -> loaded model, so repeated runs in one GIMP session skip the load


def default_render_size(path: str | None) -> int:
    return cached_model(path or None, _MODELS).info.default_render_size


def colorize_job(job, progress=None) -> tuple[bytes, int]:
    parts = iter(job.payloads())

    def read(size: int) -> bytes:
        return next(parts, b"")

    result = execute(job.header(), read, progress, _MODELS)
    return result.tobytes(), result.shape[2]
