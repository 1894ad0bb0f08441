"""Preparing a photo for the network (gimp_plugin/core/render.py): pixels, selections and render sizes checked
in words."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from gimp_plugin.core import limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.worker import serve as worker


def _serve(header: dict, payload: bytes = b"") -> dict:
    out = io.BytesIO()
    worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n" + payload), out)
    return json.loads(out.getvalue().splitlines()[-1])


BASE = {"protocol": 1, "width": 4, "height": 3, "channels": 1, "format": "u8"}


def test_a_nan_pixel_is_blamed_on_the_image(model):
    pixels = np.full((8, 8), 0.5, np.float32)
    pixels[3, 3] = np.nan
    with pytest.raises(InputError, match="not numbers"):
        colorize(pixels, model)


def test_a_render_size_that_would_not_fit_in_memory_is_refused(monkeypatch, model):
    photo = np.tile(np.arange(800, dtype=np.uint16) % 256, (600, 1)).astype(np.uint8)
    need = 800 * 600 * limits.NETWORK_BYTES_PER_RENDER_PIXEL
    monkeypatch.setattr(limits, "available_memory", lambda: need // 2)
    with pytest.raises(InputError, match="smaller render size"):
        colorize(photo, model, render_size=4000)
    assert colorize(photo, model).shape == (600, 800, 3), "the default render size still fits"


def test_a_nan_selection_is_refused_not_painted_black(model_path):
    header = {**BASE, "model": str(model_path), "selection": {"format": "f32"}}
    reply = _serve(header, bytes(12) + np.full((3, 4), np.nan, np.float32).tobytes())
    assert reply["ok"] is False and "selection" in reply["error"] and "not numbers" in reply["error"]
