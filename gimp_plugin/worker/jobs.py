"""A GIMP job, decoded and run: the one place where a protocol header and its raw payloads become a request for the
runner (``tasks.runner``). The worker (``serve``) and the in-process path (``inprocess``) both wrap it.

A job is a header (see docs/model-contract.md, "Worker protocol") and, in order, the bytes of the pixels, the
hint image and the selection. ``read(n)`` hands over the next ``n`` bytes: from a pipe, or from a job in memory.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gimp_plugin.core import color, contract, limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints, hints_from_rgba
from gimp_plugin.core.pipeline import MAX_SATURATION
from gimp_plugin.core.render_paths import Progress
from gimp_plugin.core.session import ColorizationModel, load_model
from gimp_plugin.guidance import reference
from gimp_plugin.guidance.suggest import MAX_SUGGESTIONS
from gimp_plugin.tasks.runner import COLORIZE, UNCERTAINTY, Request, run_request
from gimp_plugin.worker.protocol import PROTOCOL, SAMPLE_TYPES, TASKS, UNDERSTOOD_PROTOCOLS

Reader = Callable[[int], bytes]
FORMATS = {name: np.dtype(kind) for name, kind in SAMPLE_TYPES.items()}
FORMAT_OF_DTYPE = {dtype: name for name, dtype in FORMATS.items()}


@dataclass
class Job:
    header: dict
    pixels: np.ndarray
    hints: np.ndarray | None  # the hint image as sent (RGBA or gray+alpha), at its own size
    selection: np.ndarray | None
    reference: np.ndarray | None = None  # a color reference photo (protocol 2), at its own size


def _bad(what: str, value) -> InputError:
    return InputError(f"bad request header: {what} {value!r}")


def whole_number(value, what: str, low: int = 1, high: int | None = None) -> int:
    """A header field that must be a whole number in [low, high] (JSON may write 3 as 3.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(what, value)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _bad(what, value)
    if value < low or (high is not None and value > high):
        raise InputError(f"bad request header: {what} {value!r} is outside {low}..{high if high else 'any'}")
    return int(value)


def _spec(spec, default_channels: int, what: str) -> tuple[int, int, int, np.dtype]:
    if not isinstance(spec, dict):
        raise _bad(f"{what}: expected an object, got", spec)
    if "width" not in spec or "height" not in spec or "format" not in spec:
        raise InputError(f"bad request header: {what} needs width, height and format, got {spec}")
    width = whole_number(spec["width"], f"{what} width", high=limits.MAX_SIDE)
    height = whole_number(spec["height"], f"{what} height", high=limits.MAX_SIDE)
    channels = spec.get("channels")
    channels = default_channels if channels is None else channels
    if isinstance(channels, bool) or channels not in (1, 2, 3, 4):
        raise _bad(f"{what} channels (1 to 4)", channels)
    if not isinstance(spec["format"], str) or spec["format"] not in FORMATS:
        raise _bad(f"{what} format (one of {', '.join(FORMATS)})", spec["format"])
    return width, height, int(channels), FORMATS[spec["format"]]


def _payload(read: Reader, spec: dict, default_channels: int, what: str) -> np.ndarray:
    width, height, channels, dtype = _spec(spec, default_channels, what)
    # Before reading a byte: a header may announce more than this machine holds.
    limits.check_declared_size(width, height, dtype.itemsize, what)
    expected = width * height * channels * dtype.itemsize
    data = read(expected)
    if len(data) != expected:
        raise InputError(f"request ended early: expected {expected} bytes of {what}, got {len(data)}")
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def decode(header: dict, read: Reader) -> Job:
    """The arrays a header announces, read in order with ``read``. InputError on any mismatch."""
    protocol = header.get("protocol") if isinstance(header, dict) else header
    # true == 1 in Python, not in the protocol
    if not isinstance(header, dict) or isinstance(protocol, bool) or protocol not in UNDERSTOOD_PROTOCOLS:
        found = protocol
        raise InputError(f"protocol {found!r} not understood; this runtime speaks {PROTOCOL}")
    check_settings(header)
    pixels = _payload(read, header, 1, "the image")
    hints = _payload(read, header["hints"], 4, "the hint layer") if header.get("hints") else None
    if hints is not None and (hints.ndim == 2 or hints.shape[2] in (1, 3)):
        channels = 1 if hints.ndim == 2 else hints.shape[2]
        raise InputError(
            f"the hint layer needs an alpha channel (2 or 4 channels: gray or RGB with alpha), got {channels}"
        )
    selection = None
    if header.get("selection"):
        if not isinstance(header["selection"], dict):
            raise _bad("selection: expected an object, got", header["selection"])
        spec = dict(header["selection"], width=header["width"], height=header["height"], channels=1)
        selection = _payload(read, spec, 1, "the selection")
    reference = _payload(read, header["reference"], 4, "the reference") if header.get("reference") else None
    return Job(header, pixels, hints, selection, reference)


def check_settings(header: dict) -> None:
    """The header's settings are of the types the protocol names (docs/model-contract.md), before any byte of
    pixels is read: a wrong one is the caller's mistake, said in words, not an internal error."""
    model = header.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise _bad("model (a path, or null for the default model)", model)
    if header.get("render_size") is not None:
        whole_number(header["render_size"], "render_size", high=contract.MAX_RENDER_SIZE)
    saturation = header.get("saturation", 1.0)
    if (
        isinstance(saturation, bool)
        or not isinstance(saturation, (int, float))
        or not (math.isfinite(saturation) and 0 <= saturation <= MAX_SATURATION)
    ):
        raise _bad(f"saturation (a number from 0 to {MAX_SATURATION:g})", saturation)
    task = header.get("task", "colorize")
    if task not in TASKS or (task != "colorize" and header.get("protocol") == 1):
        raise _bad(f"task (one of {', '.join(TASKS)}; protocol 2 and up)", task)
    if header.get("reference") and header.get("protocol") == 1:
        raise _bad("reference (protocol 2 and up)", header["reference"])
    if task == "suggest-hints":
        whole_number(header.get("count"), "count", high=MAX_SUGGESTIONS)
    hints = header.get("hints")
    offset = hints.get("offset") if isinstance(hints, dict) else None
    if offset is not None:
        if not isinstance(offset, (list, tuple)) or len(offset) != 2:
            raise _bad("hints offset (null or [x, y])", offset)
        for value in offset:
            whole_number(value, "hints offset", low=-limits.MAX_SIDE, high=limits.MAX_SIDE)


def place_hint_image(image: np.ndarray, offset, width: int, height: int) -> np.ndarray:
    """Put a hint image whose top-left sits at ``offset`` on the photo onto a transparent canvas of the photo's
    size (a GIMP layer can be smaller than, or stick out of, the photo). Without an offset it is returned as is,
    to be scaled over the whole photo."""
    if offset is None:
        return image
    offset_x, offset_y = (int(v) for v in offset)
    canvas = np.zeros((height, width, image.shape[2]), image.dtype)
    top, left = max(0, offset_y), max(0, offset_x)
    bottom, right = min(height, offset_y + image.shape[0]), min(width, offset_x + image.shape[1])
    if bottom > top and right > left:
        canvas[top:bottom, left:right] = image[top - offset_y : bottom - offset_y, left - offset_x : right - offset_x]
    return canvas


def run(job: Job, model: ColorizationModel, progress: Progress | None = None) -> np.ndarray:
    """Run a decoded job; the result has the pixels' sample format (float jobs give float32)."""
    header, (height, width) = job.header, job.pixels.shape[:2]
    render_size = int(header["render_size"]) if header.get("render_size") else None
    hints = None
    if job.hints is not None:
        placed = place_hint_image(job.hints, header["hints"].get("offset"), width, height)

        def hints(size: tuple[int, int]) -> Hints:
            return hints_from_rgba(placed, size)

    references = [prepared_reference(job.reference, model, render_size)] if job.reference is not None else []
    task = header.get("task", COLORIZE)
    request = Request(
        job.pixels,
        task,
        render_size,
        float(header.get("saturation", 1.0)),
        hints=hints,
        references=references,
        selection=job.selection,
        count=int(header.get("count") or 0),
    )
    image = run_request(request, model, progress).image
    if task == COLORIZE:
        return image.astype(job.pixels.dtype, copy=False)
    if task == UNCERTAINTY:  # the heat map as opaque RGBA
        image = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    if job.pixels.dtype == np.uint8:
        return image
    return color.from_unit_float(color.to_unit_float(image), job.pixels.dtype)


_LAST_REFERENCE: dict = {}  # the preview redraws with one reference many times: its cells are kept, one at a time


def prepared_reference(pixels: np.ndarray, model: ColorizationModel, render_size: int | None) -> reference.Reference:
    """The reference's cells, prepared once for the same pixels, model and render size (a preview's redraws)."""
    digest = hashlib.blake2b(np.ascontiguousarray(pixels), digest_size=16).digest()
    key = (str(model.path), render_size, pixels.shape, pixels.dtype.str, digest)
    if key not in _LAST_REFERENCE:
        prepared = reference.prepare_reference(pixels, model, render_size)
        _LAST_REFERENCE.clear()
        _LAST_REFERENCE[key] = prepared
    return _LAST_REFERENCE[key]


def cached_model(path: str | None, models: dict | None) -> ColorizationModel:
    """The model at ``path`` (None: the default one), loaded once per path when ``models`` caches them."""
    if models is None:
        return load_model(path)
    if path not in models:
        models[path] = load_model(path)
    return models[path]


def execute(header: dict, read: Reader, progress: Progress | None = None, models: dict | None = None) -> np.ndarray:
    """Decode and run one job. ``models`` caches loaded models by path across jobs (in-process GIMP sessions)."""
    job = decode(header, read)
    return run(job, cached_model(header.get("model") or None, models), progress)
