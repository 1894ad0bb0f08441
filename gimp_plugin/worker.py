"""The colorize worker: one request on stdin, progress and one result on stdout (``python -m gimp_plugin.worker``).

GIMP adapters whose Python cannot import onnxruntime (GIMP 2.10's Python 2.7; Flatpak or Windows builds of GIMP 3)
run this module with the project's virtual environment. The protocol (see README, "Worker protocol"):

request:  one JSON line (the header), then the raw payloads it announces, in order: pixels, hints, selection
replies:  any number of ``{"progress": f}`` lines, then ``{"ok": true, ...}`` and the raw result bytes,
          or ``{"ok": false, "error": "..."}``
"""

from __future__ import annotations

import json
import sys
import traceback

import numpy as np

from .errors import ColorizeError, InputError

PROTOCOL = 1
MAX_HEADER_BYTES = 1 << 16
FORMATS = {"u8": np.dtype(np.uint8), "u16": np.dtype("<u2"), "f32": np.dtype("<f4")}


def _payload(stream, spec: dict, default_channels: int | None = None) -> np.ndarray:
    try:
        width, height = int(spec["width"]), int(spec["height"])
        channels = int(spec.get("channels", default_channels or 1))
        dtype = FORMATS[spec["format"]]
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"bad request header: {error!r} in {spec}") from error
    if width < 1 or height < 1 or channels not in (1, 2, 3, 4):
        raise InputError(f"bad image size in request: {width} x {height} x {channels}")
    expected = width * height * channels * dtype.itemsize
    data = stream.read(expected)
    if len(data) != expected:
        raise InputError(f"request ended early: expected {expected} bytes of pixels, got {len(data)}")
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.frombuffer(data, dtype=dtype).reshape(shape)


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


def read_request(stream) -> tuple[dict, np.ndarray, np.ndarray | None, np.ndarray | None]:
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.endswith(b"\n"):
        raise InputError("no request header (expected one JSON line)")
    try:
        header = json.loads(line.decode("utf-8"))
    except ValueError as error:
        raise InputError(f"request header is not JSON: {error}") from error
    if header.get("protocol") != PROTOCOL:
        raise InputError(f"protocol {header.get('protocol')!r} not understood; this worker speaks {PROTOCOL}")
    pixels = _payload(stream, header)
    hints = _payload(stream, header["hints"], 4) if header.get("hints") else None
    selection = None
    if header.get("selection"):
        spec = dict(header["selection"], width=header["width"], height=header["height"], channels=1)
        selection = _payload(stream, spec)
    return header, pixels, hints, selection


def _send(stream, message: dict, payload: bytes = b"") -> None:
    stream.write(json.dumps(message).encode("utf-8") + b"\n")
    if payload:
        stream.write(payload)
    stream.flush()


def serve(stdin, stdout) -> int:
    """Handle one request. Returns the process exit status (0 also when the error was reported cleanly)."""
    try:
        header, pixels, hint_image, selection = read_request(stdin)
        from .hints import hints_from_rgba
        from .model import load_model
        from .pipeline import colorize

        model = load_model(
            header.get("model") or None, device=header.get("device", "auto"), threads=header.get("threads")
        )
        result = colorize(
            pixels,
            model,
            render_size=header.get("render_size") or None,
            saturation=float(header.get("saturation", 1.0)),
            hints=None
            if hint_image is None
            else hints_from_rgba(
                place_hint_image(hint_image, header["hints"].get("offset"), pixels.shape[1], pixels.shape[0])
            ),
            selection=selection,
            threads=header.get("threads"),
            progress=lambda fraction: _send(stdout, {"progress": round(fraction, 4)}),
        )
        if result.dtype.byteorder == ">":  # the protocol is little-endian
            result = result.astype(result.dtype.newbyteorder("<"))
        result_format = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16"}.get(result.dtype, "f32")
        reply = {
            "ok": True,
            "width": result.shape[1],
            "height": result.shape[0],
            "channels": result.shape[2],
            "format": result_format,
            "nbytes": result.nbytes,
        }
        _send(stdout, reply, np.ascontiguousarray(result).tobytes())
    except ColorizeError as error:
        _send(stdout, {"ok": False, "error": str(error)})
    except MemoryError:
        _send(stdout, {"ok": False, "error": "out of memory: try a smaller image or a lower render size"})
    except Exception as error:  # report anything else too, so the GIMP side can show it
        traceback.print_exc(file=sys.stderr)
        _send(stdout, {"ok": False, "error": f"internal error in the colorize worker: {error!r}"})
    return 0


def main() -> int:
    return serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    raise SystemExit(main())
