"""Preparing a photo for the network (gimp_plugin/core/render.py): pixels, selections and render sizes checked
in words."""

from __future__ import annotations

import numpy as np
import pytest

from gimp_plugin.core import limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.render import prepare


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


def test_a_photo_is_prepared_once_for_every_task_on_it(model, gray_u8):
    """The render size is resolved once (the model's own unless asked), and L* is measured at it."""
    render = prepare(gray_u8, model)
    assert max(render.size) == min(max(gray_u8.shape), model.info.default_render_size)
    assert render.lightness.shape == render.size and render.shape == gray_u8.shape[:2]
    asked = prepare(gray_u8, model, render_size=16)
    assert max(asked.size) == 16 and asked.lightness.shape == asked.size
    assert float(asked.lightness.mean()) == pytest.approx(float(render.lightness.mean()), abs=2.0)


def test_a_selection_of_another_size_or_not_numbers_is_refused(model, gray_u8):
    with pytest.raises(InputError, match="selection mask is"):
        prepare(gray_u8, model, selection=np.ones((3, 3), np.float32))
    selection = np.ones(gray_u8.shape[:2], np.float32)
    selection[0, 0] = np.nan
    with pytest.raises(InputError, match="not numbers"):
        prepare(gray_u8, model, selection=selection)
