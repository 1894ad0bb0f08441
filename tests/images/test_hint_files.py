"""Hint images from files (gimp_plugin/images/hint_files.py): reduced to the render size as they are read."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gimp_plugin.core import limits
from gimp_plugin.core.hints import hints_from_rgba
from gimp_plugin.images.hint_files import read_hints
from tests.cli_runs import run, save_gray


def test_hints_are_reduced_to_the_render_size_as_they_are_read(tmp_path):
    hint = np.zeros((1500, 2000, 4), np.uint8)
    hint[700, 1000] = [0, 0, 255, 255]  # one blue pixel
    Image.fromarray(hint, "RGBA").save(tmp_path / "hints.png")
    hints = read_hints(tmp_path / "hints.png", (96, 128))
    assert hints.mask.shape == (96, 128) and hints.count == 1, "the one-pixel dot survives, in one cell"
    assert hints.ab[1][hints.mask > 0][0] < -50, "and keeps its blue"


def test_a_huge_hint_image_is_blamed_not_the_photo(tmp_path, monkeypatch, model_path, capsys):
    save_gray(tmp_path / "photo.png")
    Image.new("RGBA", (3000, 2000)).save(tmp_path / "hints.png")
    monkeypatch.setattr(limits, "MAX_PIXELS", 1_000_000)
    assert (
        run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--hints", tmp_path / "hints.png", "--model", model_path)
        == 1
    )
    assert "the hint image" in capsys.readouterr().err


def test_hints_read_in_strips_match_the_whole_image(tmp_path):
    rng = np.random.default_rng(3)
    hint = np.zeros((700, 300, 4), np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 697), rng.integers(0, 297)
        hint[y : y + 3, x : x + 3] = [*rng.integers(0, 256, 3), 255]
    Image.fromarray(hint, "RGBA").save(tmp_path / "hints.png")
    streamed, whole = read_hints(tmp_path / "hints.png", (70, 30)), hints_from_rgba(hint, (70, 30))
    np.testing.assert_allclose(streamed.mask, whole.mask, atol=1e-6)
    np.testing.assert_allclose(streamed.ab, whole.ab, atol=1e-3)
