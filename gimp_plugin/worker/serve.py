"""The colorize worker: one request on stdin, progress and one result on stdout (``python -m gimp_plugin.worker``).

GIMP adapters whose Python cannot import onnxruntime (GIMP 2.10's Python 2.7; Flatpak or Windows builds of GIMP 3)
run this module with the project's virtual environment. The protocol (docs/model-contract.md, "Worker protocol"):

request:  one JSON line (the header), then the raw payloads it announces, in order: pixels, hints, selection
replies:  any number of ``{"progress": f}`` lines, then ``{"ok": true, ...}`` and the raw result bytes,
          or ``{"ok": false, "error": "..."}``
"""

from __future__ import annotations

import json
import sys
import traceback

from gimp_plugin.core.errors import ColorizeError, InputError
from gimp_plugin.worker.jobs import FORMAT_OF_DTYPE, execute
from gimp_plugin.worker.protocol import MAX_HEADER_BYTES


def read_header(stream) -> dict:
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.endswith(b"\n"):
        raise InputError("no request header (expected one JSON line)")
    try:
        header = json.loads(line.decode("utf-8"))
    except ValueError as error:
        raise InputError(f"request header is not JSON: {error}") from error
    except RecursionError:  # [[[[...]]]] thousands deep: no header the protocol names nests like that
        raise InputError("request header is nested too deep to be a request") from None
    if not isinstance(header, dict):
        raise InputError("request header is not a JSON object")
    return header


def _send(stream, message: dict, payload: bytes = b"") -> None:
    stream.write(json.dumps(message).encode("utf-8") + b"\n")
    if payload:
        stream.write(payload)
    stream.flush()


def serve(stdin, stdout) -> int:
    """Handle one request. Returns the process exit status (0 also when the error was reported cleanly)."""
    try:
        header = read_header(stdin)
        result = execute(header, stdin.read, lambda fraction: _send(stdout, {"progress": round(fraction, 4)}))
        reply = {
            "ok": True,
            "width": result.shape[1],
            "height": result.shape[0],
            "channels": result.shape[2],
            "format": FORMAT_OF_DTYPE[result.dtype],
            "nbytes": result.nbytes,
        }
        _send(stdout, reply, result.tobytes())
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
