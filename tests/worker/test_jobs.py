"""GIMP jobs (gimp_plugin/worker/jobs.py): headers checked before any pixel is read, payloads decoded."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from gimp_plugin.worker import jobs
from gimp_plugin.worker import serve as worker


def _serve(header: dict, payload: bytes = b"") -> dict:
    out = io.BytesIO()
    worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n" + payload), out)
    return json.loads(out.getvalue().splitlines()[-1])


BASE = {"protocol": 1, "width": 4, "height": 3, "channels": 1, "format": "u8"}


def test_a_huge_worker_header_is_refused_before_reading(monkeypatch):
    header = {"protocol": 1, "width": 200_000, "height": 200_000, "channels": 4, "format": "f32"}
    out = io.BytesIO()
    worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n"), out)
    reply = json.loads(out.getvalue().splitlines()[-1])
    assert not reply["ok"] and "too large" in reply["error"] and "out of memory" not in reply["error"]


def test_a_job_of_the_gimp_bridge_reads_hints_and_selection_as_bytes(model_path):
    pixels = np.full((6, 8), 128, np.uint8)
    hints = np.zeros((6, 8, 4), np.uint8)
    hints[:, :4] = [0, 0, 255, 255]
    header = {
        "protocol": 1,
        "width": 8,
        "height": 6,
        "channels": 1,
        "format": "u8",
        "model": str(model_path),
        "hints": {"width": 8, "height": 6, "channels": 4, "format": "u8", "offset": [0, 0]},
        "selection": {"format": "u8"},
    }
    parts = iter([pixels.tobytes(), hints.tobytes(), np.full((6, 8), 255, np.uint8).tobytes()])
    result = jobs.execute(header, lambda size: next(parts))
    assert result.shape == (6, 8, 3) and result.dtype == np.uint8
    assert int(result[0, 0, 2]) > int(result[0, 7, 2]), "blue where the hint is"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"render_size": "abc"}, "render_size 'abc'"),
        ({"render_size": 1e9}, "render_size"),
        ({"model": 5}, "model"),
        ({"model": ""}, "model"),
        ({"saturation": "high"}, "saturation"),
        ({"hints": {"width": 4, "height": 3, "format": "u8", "offset": [1]}}, "offset"),
        ({"hints": {"width": 4, "height": 3, "format": "u8", "offset": "0,0"}}, "offset"),
        ({"hints": "yes"}, "the hint layer: expected an object"),
        ({"selection": "x"}, "selection: expected an object"),
        ({"width": float("inf")}, "width inf"),
        ({"width": 2.5}, "width 2.5"),
        ({"width": True}, "width True"),
        ({"format": ["u8"]}, "format"),
    ],
)
def test_badly_typed_header_fields_get_a_message_not_an_internal_error(change, message):
    reply = _serve({**BASE, **change}, bytes(12))
    assert reply["ok"] is False and message in reply["error"] and "internal error" not in reply["error"]


def test_a_nan_selection_is_refused_not_painted_black(model_path):
    header = {**BASE, "model": str(model_path), "selection": {"format": "f32"}}
    reply = _serve(header, bytes(12) + np.full((3, 4), np.nan, np.float32).tobytes())
    assert reply["ok"] is False and "selection" in reply["error"] and "not numbers" in reply["error"]


def test_the_protocol_names_the_tasks_the_runner_runs():
    """protocol.py stays Python 2.7 for GIMP 2.10 and cannot import the runner: the two lists must agree."""
    from gimp_plugin.tasks import runner
    from gimp_plugin.worker import protocol

    assert tuple(protocol.TASKS) == runner.TASKS
