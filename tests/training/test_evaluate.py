"""The rebalanced AuC of colorize-eval (Zhang et al. 2016), on a case small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gimp_plugin.core import color
from training.measure.evaluate import AUC_THRESHOLDS, ab_auc, ab_error_counts, ab_prior, rebalanced_auc


def _truth_and_result() -> tuple[np.ndarray, np.ndarray, float]:
    """Three gray pixels and one orange one; the result is right on the grays and gray where the orange was.
    Also the orange pixel's chroma, which is its ab error in the result."""
    orange = np.array([200, 120, 100], np.uint8)
    truth = np.array([[[128, 128, 128], [128, 128, 128]], [[128, 128, 128], orange]], np.uint8)
    lab = color.rgb_to_lab(orange.astype(np.float32) / 255)
    gray_of_orange = np.round(color.linear_to_srgb(color.lightness_to_luminance(lab[0])) * 255)
    result = truth.copy()
    result[1, 1] = gray_of_orange
    chroma = float(np.hypot(*color.rgb_to_lab(result[1, 1].astype(np.float32) / 255)[1:] - lab[1:]))
    return truth, result, chroma


def test_a_rare_colour_counts_as_much_as_the_common_gray():
    truth, result, chroma = _truth_and_result()
    counts = ab_error_counts(result, truth)
    prior = ab_prior([ab_error_counts(truth, truth)])
    # Plain AuC: 3 of 4 pixels within every threshold, the fourth within t >= its chroma.
    orange_within = (chroma <= AUC_THRESHOLDS).astype(float)
    assert ab_auc(result, truth) == pytest.approx(np.mean(0.75 + 0.25 * orange_within), abs=1e-6)
    # Rebalanced: the orange bin's prior is a third of the gray one's, so its one pixel weighs as much as the three
    # gray ones together: each colour is half the curve.
    assert rebalanced_auc(counts, prior) == pytest.approx(np.mean(0.5 + 0.5 * orange_within), abs=1e-3)


def test_the_prior_is_smoothed_floored_and_a_distribution():
    truth, _, _ = _truth_and_result()
    prior = ab_prior([ab_error_counts(truth, truth)])
    assert prior.shape == (22 * 22,)
    assert prior.min() == pytest.approx(1e-6)
    assert prior.max() < 0.75  # the gray bin's mass is spread over its neighbours by the Gaussian
    assert prior[prior > 1e-6].sum() == pytest.approx(1.0, abs=1e-4)


def test_a_perfect_result_scores_one_and_gray_less():
    truth, result, _ = _truth_and_result()
    prior = ab_prior([ab_error_counts(truth, truth)])
    assert rebalanced_auc(ab_error_counts(truth, truth), prior) == pytest.approx(1.0)
    assert rebalanced_auc(ab_error_counts(result, truth), prior) < ab_auc(result, truth)


def test_eval_skips_a_corrupt_photo_with_a_word(tmp_path, model_path, capsys):
    pytest.importorskip("torch")
    from tests.tiny_runs import write_photos
    from training.measure import evaluate

    photos = write_photos(tmp_path / "photos", 2)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert evaluate.main(["--model", str(model_path), "--data", str(photos)]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "broken.jpg" in captured.err and "| 2 | all |" in captured.out
