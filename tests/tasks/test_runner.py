"""The request runner (gimp_plugin/tasks/runner.py) every front end calls: one preparation per request, hints read
at the render size, each task's result at the photo's size."""

from __future__ import annotations

import numpy as np
import pytest

from gimp_plugin.core import color, render_paths
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import hints_from_rgba
from gimp_plugin.tasks.runner import COLORIZE, SUGGEST_HINTS, UNCERTAINTY, Request, run_request


def test_a_request_measures_lightness_once_and_reads_its_hints_at_the_render_size(model, gray_u8, monkeypatch):
    measured, asked = [], []
    real = render_paths.TablePath.measure

    def counting(self, size, report):
        measured.append(size)
        return real(self, size, report)

    def hints(size):
        asked.append(size)
        dots = np.zeros((*gray_u8.shape, 4), np.uint8)
        dots[10:14, 10:14] = (200, 40, 40, 255)
        return hints_from_rgba(dots, size)

    monkeypatch.setattr(render_paths.TablePath, "measure", counting)
    result = run_request(Request(gray_u8, COLORIZE, render_size=32, hints=hints, analysis_too=True), model)
    assert len(measured) == 1 and asked == measured, "one preparation, the hints read at its size"
    assert result.image.shape == (*gray_u8.shape, 3) and result.analysis is not None
    lightness = color.rgb_to_lightness(result.image.astype(np.float32) / 255)
    np.testing.assert_allclose(
        lightness, color.rgb_to_lightness(gray_u8.astype(np.float32)[..., None] / 255 * [1, 1, 1]), atol=0.6
    )


def test_each_task_answers_at_the_photos_size(model, gray_u8):
    dots = run_request(Request(gray_u8, SUGGEST_HINTS, count=3), model)
    assert dots.image.shape == (*gray_u8.shape, 4) and 0 < (dots.image[..., 3] > 0).mean() < 0.5
    heat = run_request(Request(gray_u8, UNCERTAINTY), model)
    assert heat.image.shape == (*gray_u8.shape, 3) and heat.image.dtype == np.uint8
    assert heat.analysis is not None and heat.image.std() > 0, "a map of where the model is unsure, not a flat fill"


@pytest.mark.parametrize(
    "request_settings, message",
    [
        ({"task": "sharpen"}, "unknown task"),
        ({"task": SUGGEST_HINTS, "count": 0}, "hint points"),
        ({"saturation": float("nan")}, "saturation"),
    ],
)
def test_a_request_is_checked_in_words_before_any_work(model, gray_u8, request_settings, message):
    with pytest.raises(InputError, match=message):
        run_request(Request(gray_u8, **request_settings), model)
