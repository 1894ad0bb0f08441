"""The bridge's in-process path: a bridge.Job's raw bytes through the numpy pipeline and back to bytes."""

from __future__ import annotations

import numpy as np

from .bridge import BridgeError
from .errors import ColorizeError
from .hints import hints_from_rgba
from .model import load_model
from .pipeline import colorize
from .worker import FORMATS, place_hint_image

_MODELS: dict = {}  # path -> loaded model, so repeated runs in one GIMP session skip the load


def _array(data: bytes, width: int, height: int, channels: int, sample_format: str) -> np.ndarray:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(data, dtype=FORMATS[sample_format]).reshape(shape)


def colorize_job(job, progress=None) -> tuple[bytes, int]:
    try:
        model = _MODELS.get(job.model) or load_model(job.model)
        _MODELS[job.model] = model
        hints = None
        if job.hints is not None:
            spec = job.hints
            image = _array(spec["data"], spec["width"], spec["height"], spec.get("channels", 4), spec["format"])
            hints = hints_from_rgba(place_hint_image(image, spec.get("offset"), job.width, job.height))
        selection = None
        if job.selection is not None:
            selection = _array(job.selection, job.width, job.height, 1, job.selection_format)
        result = colorize(
            _array(job.pixels, job.width, job.height, job.channels, job.sample_format),
            model,
            render_size=job.render_size or None,
            saturation=job.saturation,
            hints=hints,
            selection=selection,
            progress=progress,
        )
    except ColorizeError as error:
        raise BridgeError(str(error)) from error
    except MemoryError as error:
        raise BridgeError("out of memory: try a smaller image or a lower render size") from error
    return result.astype(FORMATS[job.sample_format], copy=False).tobytes(), result.shape[2]
