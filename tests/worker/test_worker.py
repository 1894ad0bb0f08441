"""The worker protocol on its own: requests, replies, and every way the pipe can go wrong."""

import io
import json
import stat
import sys

import numpy as np
import pytest

from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.worker import bridge, jobs
from gimp_plugin.worker import serve as worker


def request(pixels: np.ndarray, model_path, **extra) -> bytes:
    height, width = pixels.shape[:2]
    header = {
        "protocol": 1,
        "width": width,
        "height": height,
        "channels": 1 if pixels.ndim == 2 else pixels.shape[2],
        "format": "u8",
        "model": str(model_path),
        **extra,
    }
    return json.dumps(header).encode() + b"\n" + pixels.tobytes()


def replies(raw: bytes):
    stream = io.BytesIO(raw)
    messages = []
    while True:
        line = stream.readline()
        if not line:
            return messages, b""
        message = json.loads(line)
        messages.append(message)
        if "ok" in message:
            return messages, stream.read()


def test_a_request_gets_progress_then_the_result(model_path):
    pixels = np.full((6, 10), 128, np.uint8)
    out = io.BytesIO()
    worker.serve(io.BytesIO(request(pixels, model_path, saturation=1.0)), out)
    messages, payload = replies(out.getvalue())
    assert all("progress" in m for m in messages[:-1]) and len(messages) > 2
    final = messages[-1]
    assert final == {"ok": True, "width": 10, "height": 6, "channels": 3, "format": "u8", "nbytes": 180}
    result = np.frombuffer(payload, np.uint8).reshape(6, 10, 3)
    assert result[..., 0].astype(int).sum() != result[..., 2].astype(int).sum(), "colored"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "no request header"),
        (b"{not json\n", "not JSON"),
        (b'{"protocol": 99}\n', "protocol 99"),
        (b'{"protocol": 1, "width": 4, "height": 4, "format": "u8"}\n' + b"\x00" * 5, "ended early"),
        (b'{"protocol": 1, "width": 4, "height": 4, "format": "u64"}\n', "bad request header"),
    ],
)
def test_bad_requests_get_an_error_reply(raw, message):
    out = io.BytesIO()
    assert worker.serve(io.BytesIO(raw), out) == 0
    messages, _ = replies(out.getvalue())
    assert messages[-1]["ok"] is False and message in messages[-1]["error"]


def test_hint_layers_with_offsets_are_placed_on_the_photo():
    hint = np.full((2, 3, 4), 255, np.uint8)
    canvas = jobs.place_hint_image(hint, (-1, 5), width=4, height=8)
    assert canvas.shape == (8, 4, 4)
    assert canvas[5:7, 0:2, 3].all() and canvas[..., 3].sum() == 4 * 255


def fake_python(tmp_path, script: str) -> str:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def job(model_path=None):
    return bridge.Job(b"\x80" * 12, 4, 3, 1, "u8", model=str(model_path) if model_path else None)


def test_bridge_round_trip_through_a_real_worker(model_path):
    from tests.gimp_fixtures import ROOT

    seen = []
    data, channels = bridge.run_worker(job(model_path), sys.executable, str(ROOT), seen.append)
    assert channels == 3 and len(data) == 36 and seen and seen[-1] == 1.0
    pixels = np.frombuffer(data, np.uint8).reshape(3, 4, 3)
    in_process = colorize(np.full((3, 4), 0x80, np.uint8), ColorizationModel(model_path))
    np.testing.assert_array_equal(pixels, in_process)  # the worker's pixels are the in-process pipeline's
    assert (pixels[..., 0] != pixels[..., 2]).any(), "and they are coloured"


@pytest.mark.parametrize(
    "script, message",
    [
        ("cat >/dev/null; echo 'hello, I am not a worker'", "unreadable"),
        ("cat >/dev/null; kill -9 $$", "stopped unexpectedly"),
        ("cat >/dev/null; exit 3", "exit code 3"),
        ('cat >/dev/null; echo \'{"ok": true, "nbytes": 999, "channels": 3, "format": "u8"}\'', "wrong size"),
        ('cat >/dev/null; echo \'{"ok": true, "nbytes": 36, "channels": 3, "format": "u8"}\'; printf abc', "cut short"),
        ('cat >/dev/null; echo \'{"ok": false, "error": "model exploded"}\'', "model exploded"),
    ],
)
def test_bridge_turns_every_worker_failure_into_a_clear_error(tmp_path, script, message):
    with pytest.raises(bridge.BridgeError, match=message):
        bridge.run_worker(job(), fake_python(tmp_path, script), str(tmp_path))


def test_bridge_stops_a_hung_worker(tmp_path):
    with pytest.raises(bridge.BridgeError, match="longer than 1 s"):
        bridge.run_worker(job(), fake_python(tmp_path, "cat >/dev/null; sleep 30"), str(tmp_path), timeout=1)


def test_missing_environment_is_explained(tmp_path):
    with pytest.raises(bridge.BridgeError, match="install.sh"):
        bridge.run_worker(job(), str(tmp_path / "no-python"), str(tmp_path))


def test_job_checks_its_byte_count():
    with pytest.raises(bridge.BridgeError, match="expected 12"):
        bridge.Job(b"\x00" * 11, 4, 3, 1, "u8")


def _answer(raw: bytes) -> dict:
    out = io.BytesIO()
    assert worker.serve(io.BytesIO(raw), out) == 0
    messages, _ = replies(out.getvalue())
    return messages[-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"protocol": True}, "protocol True not understood"),
        ({"channels": 0}, "channels (1 to 4)"),
        ({"hints": {"width": 4, "height": 4, "channels": 1, "format": "u8", "offset": [1, 1]}}, "needs an alpha"),
    ],
)
def test_a_request_the_protocol_does_not_name_is_refused_in_words(model_path, extra, message):
    pixels = np.full((4, 4), 128, np.uint8)
    raw = request(pixels, model_path, **extra) + np.zeros(16, np.uint8).tobytes()
    answer = _answer(raw)
    assert answer["ok"] is False and message in answer["error"] and "internal" not in answer["error"]


def test_a_header_nested_thousands_deep_is_refused_in_words():
    answer = _answer(b"[" * 30000 + b"]" * 30000 + b"\n")
    assert answer["ok"] is False and "nested too deep" in answer["error"]


def test_a_saturation_past_any_use_is_refused_in_words(model_path):
    answer = _answer(request(np.full((4, 4), 128, np.uint8), model_path, saturation=1e37))
    assert answer["ok"] is False and "saturation (a number from 0 to 10)" in answer["error"]
