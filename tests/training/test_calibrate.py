"""colorize-calibrate: the gain that gives held-out photos a chosen share of the truth's colorfulness."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("torch")

from training.common.errors import TrainingError
from training.measure import calibrate


def linear_reader(ratio_at_one: float, slope: float):
    """read(saturation) for a model whose colorfulness ratio is exactly ratio_at_one + slope * (saturation - 1)."""

    def read(saturation: float) -> calibrate.Reading:
        ratio = ratio_at_one + slope * (saturation - 1)
        return calibrate.Reading(saturation, ratio, 25.0, np.array([ratio * 10.0]))

    return read


def test_the_secant_settles_on_the_target_of_a_linear_model():
    readings = calibrate.find_saturation(linear_reader(0.5, 0.6), target=0.6)
    assert abs(readings[-1].saturation - (1 + 0.1 / 0.6)) < 1e-6
    assert len(readings) == 3, "two starting readings, then one secant step is exact for a straight line"


def test_a_model_that_paints_no_color_is_refused_not_looped_on():
    with pytest.raises(TrainingError, match="paints no color"):
        calibrate.find_saturation(linear_reader(0.0, 0.0), target=0.6)


def test_resampling_the_photos_spreads_the_answer_only_as_far_as_they_disagree():
    truth = np.array([10.0, 20.0, 30.0, 40.0])
    saturations = (1.0, 1.2)

    def readings_for(shares):  # each photo painted at its own share of its truth's colorfulness, linear in s
        return [calibrate.Reading(s, 0.0, 0.0, truth * np.asarray(shares) * s) for s in saturations]

    alike = calibrate.bootstrap_saturations(readings_for([0.5] * 4), truth, target=0.6, draws=200)
    assert np.allclose(alike, 1.2), "photos that agree give the same answer in every resample"
    unlike = calibrate.bootstrap_saturations(readings_for([0.3, 0.4, 0.6, 0.7]), truth, target=0.6, draws=200)
    assert unlike.std() > 0.05 and 0.8 < np.median(unlike) < 1.4


def test_calibrating_a_model_on_photos_prints_the_gain_to_export_with(tmp_path, model_path, capsys):
    from tests.tiny_runs import write_photos

    photos = write_photos(tmp_path / "photos", 4)
    assert calibrate.main(["--model", str(model_path), "--data", str(photos), "--target", "0.3"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"export with --chroma-gain ([0-9.]+) \(5-95 % of photo resamples: ([0-9.]+) to ([0-9.]+)\)", out)
    assert found, out
    ratios = [float(value) for value in re.findall(r"colorfulness ([0-9.]+) x truth", out)]
    assert abs(ratios[-1] - 0.3) <= 0.002, "the last reading is at the target"
    gain, low, high = (float(value) for value in found.groups())
    assert low <= gain <= high


def test_gray_photos_are_named_as_the_problem_not_the_model(tmp_path, model_path, capsys):
    from PIL import Image

    (tmp_path / "set").mkdir()
    Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(tmp_path / "set" / "gray.png")
    assert calibrate.main(["--model", str(model_path), "--data", str(tmp_path)]) == 1
    assert "photos are gray" in capsys.readouterr().err


def test_no_photos_and_a_bad_target_are_refused_with_a_message(tmp_path, model_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert calibrate.main(["--model", str(model_path), "--data", str(empty)]) == 1
    assert capsys.readouterr().err.startswith("colorize-calibrate: ")
    with pytest.raises(SystemExit):
        calibrate.main(["--model", str(model_path), "--data", str(empty), "--target", "0"])
