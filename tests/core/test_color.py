import numpy as np
import pytest
from skimage import color as skcolor

from gimp_plugin.core import color


@pytest.fixture
def srgb():
    rng = np.random.default_rng(0)
    values = rng.random((64, 64, 3)).astype(np.float32)
    values[0, :8] = [
        [0, 0, 0],
        [1, 1, 1],
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0.5, 0.5, 0.5],
        [0.01, 0.02, 0.0],
        [1, 1, 0],
    ]
    return values


def test_rgb_to_lab_matches_scikit_image(srgb):
    assert np.abs(color.rgb_to_lab(srgb) - skcolor.rgb2lab(srgb.astype(np.float64))).max() < 0.01


def test_lab_to_rgb_matches_scikit_image_inside_the_gamut(srgb):
    lab = skcolor.rgb2lab(srgb.astype(np.float64))
    assert np.abs(color.lab_to_rgb(lab) - skcolor.lab2rgb(lab)).max() < 0.01


def test_round_trip_is_exact_to_float_precision(srgb):
    assert np.abs(color.lab_to_rgb(color.rgb_to_lab(srgb)) - srgb).max() < 1e-4


def test_lightness_alone_equals_the_l_channel(srgb):
    assert np.abs(color.rgb_to_lightness(srgb) - color.rgb_to_lab(srgb)[..., 0]).max() < 1e-4
    gray = srgb[..., 0]
    assert (
        np.abs(color.gray_to_lightness(gray) - color.rgb_to_lab(np.repeat(gray[..., None], 3, -1))[..., 0]).max() < 1e-3
    )


def test_gamut_mapping_keeps_lightness_and_hue_direction():
    lab = np.array([[50.0, 120.0, -120.0], [90.0, -100.0, 100.0], [10.0, 80.0, 80.0]], np.float32)
    rgb = color.lab_to_rgb(lab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    back = color.rgb_to_lab(rgb)
    assert np.abs(back[:, 0] - lab[:, 0]).max() < 0.05
    assert np.all(np.sign(back[:, 1:]) == np.sign(lab[:, 1:]))


def test_zero_chroma_gives_neutral_gray():
    lab = np.zeros((5, 3), np.float32)
    lab[:, 0] = [0, 10, 50, 90, 100]
    rgb = color.lab_to_rgb(lab)
    assert np.ptp(rgb, axis=1).max() < 1e-4
