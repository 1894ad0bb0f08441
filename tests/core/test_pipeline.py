"""The core pipeline: every input kind, odd sizes, L kept, selection, alpha, saturation and hints."""

import numpy as np
import pytest

from gimp_plugin.core import color, limits, render
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints, hints_from_rgba
from gimp_plugin.core.pipeline import colorize


def lightness_of(pixels: np.ndarray) -> np.ndarray:
    scale = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(pixels.dtype, 1)
    values = pixels.astype(np.float32) / scale
    if values.ndim == 2:
        return color.gray_to_lightness(values)
    if values.shape[2] <= 2:
        return color.gray_to_lightness(values[..., 0])
    return color.rgb_to_lightness(values[..., :3])


def chroma(pixels: np.ndarray) -> np.ndarray:
    scale = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(pixels.dtype, 1)
    lab = color.rgb_to_lab(pixels[..., :3].astype(np.float32) / scale)
    return np.hypot(lab[..., 1], lab[..., 2])


def make_input(kind: str, gray: np.ndarray) -> np.ndarray:
    rgb = np.stack([gray, np.roll(gray, 3, 1), gray // 2 + 60], axis=-1).astype(np.uint8)
    alpha = np.linspace(0, 255, gray.size).reshape(gray.shape).astype(np.uint8)
    return {
        "gray8": gray,
        "gray8_1channel": gray[..., None],
        "gray_alpha8": np.stack([gray, alpha], -1),
        "rgb8": rgb,
        "rgba8": np.dstack([rgb, alpha]),
        "gray16": gray.astype(np.uint16) * 257 + 100,
        "rgb16": rgb.astype(np.uint16) * 257,
        "gray_float32": gray.astype(np.float32) / 255,
        "rgba_float64": np.dstack([rgb, alpha]).astype(np.float64) / 255,
        "rgb_float16": (rgb / 255).astype(np.float16),
    }[kind]


KINDS = [
    "gray8",
    "gray8_1channel",
    "gray_alpha8",
    "rgb8",
    "rgba8",
    "gray16",
    "rgb16",
    "gray_float32",
    "rgba_float64",
    "rgb_float16",
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_input_kind_is_colorized_with_lightness_kept(kind, gray_u8, model):
    pixels = make_input(kind, gray_u8)
    result = colorize(pixels, model)
    has_alpha = pixels.ndim == 3 and pixels.shape[2] in (2, 4)
    assert result.shape == gray_u8.shape + (4 if has_alpha else 3,)
    expected_dtype = pixels.dtype if pixels.dtype in (np.uint8, np.uint16) else np.float32
    assert result.dtype == expected_dtype
    assert np.abs(lightness_of(result) - lightness_of(pixels)).max() < 0.5
    assert chroma(result).mean() > 10, "the test model paints b* = 30: the result must have color"
    if has_alpha:
        np.testing.assert_array_equal(result[..., 3], pixels[..., -1].astype(result.dtype))


@pytest.mark.parametrize("shape", [(1, 1), (1, 5000), (5001, 3), (7, 9), (33, 1)])
def test_odd_sizes_are_padded_and_cropped(shape, model):
    pixels = (np.arange(shape[0] * shape[1]) % 200 + 30).astype(np.uint8).reshape(shape)
    result = colorize(pixels, model, render_size=256)
    assert result.shape == shape + (3,)
    assert np.abs(lightness_of(result) - lightness_of(pixels)).max() < 0.5


def test_render_shape_never_upsamples_and_keeps_the_aspect():
    assert render.render_shape(3000, 4000, 512) == (384, 512)
    assert render.render_shape(100, 50, 512) == (100, 50)
    assert render.render_shape(1, 5000, 512) == (1, 512)


def test_saturation_zero_returns_the_gray_input(gray_u8, model):
    result = colorize(gray_u8, model, saturation=0)
    for channel in range(3):
        np.testing.assert_array_equal(result[..., channel], gray_u8)


def test_saturation_scales_chroma(gray_u8, model):
    low, high = (chroma(colorize(gray_u8, model, saturation=s)).mean() for s in (0.5, 1.0))
    assert 0.4 < low / high < 0.6


def test_selection_colors_inside_keeps_outside_and_blends_the_edge(rgb_u8, model):
    height, width = rgb_u8.shape[:2]
    selection = np.zeros((height, width), np.float32)
    selection[:, : width // 2] = 1.0
    selection[:, width // 2] = 0.5  # a soft edge column
    result = colorize(rgb_u8, model, selection=selection)
    np.testing.assert_array_equal(result[:, width // 2 + 1 :], rgb_u8[:, width // 2 + 1 :])
    full = colorize(rgb_u8, model)
    np.testing.assert_allclose(result[:, : width // 2], full[:, : width // 2], atol=1)
    edge = result[:, width // 2].astype(float)
    expected = (rgb_u8[:, width // 2].astype(float) + full[:, width // 2]) / 2
    assert np.abs(edge - expected).max() <= 1.0


def test_8bit_colour_photos_take_the_table_path_within_a_table_step_of_the_exact_one(rgb_u8, model):
    fast = color.rgb_to_lab(colorize(rgb_u8, model) / 255.0)
    exact = color.rgb_to_lab(colorize(rgb_u8.astype(np.uint16) * 257, model) / 65535.0)  # 16 bits: the Lab path
    assert np.abs(fast[..., 0] - exact[..., 0]).max() < 0.5
    assert np.abs(fast[..., 1:] - exact[..., 1:]).max() < 4


def test_selection_of_wrong_shape_is_refused(gray_u8, model):
    with pytest.raises(InputError, match="selection mask"):
        colorize(gray_u8, model, selection=np.ones((3, 3)))


def test_hints_move_the_color_where_they_are(model):
    gray = np.full((40, 56), 120, np.uint8)
    rgba = np.zeros(gray.shape + (4,), np.uint8)
    rgba[5:15, 5:15] = [0, 60, 255, 255]  # blue, where the test model paints yellowish
    result = colorize(gray, model, hints=hints_from_rgba(rgba))
    lab = color.rgb_to_lab(result.astype(np.float32) / 255)
    assert lab[8:12, 8:12, 2].mean() < -10, "b* must follow the blue hint"
    assert lab[30:, 40:, 2].mean() > 10, "far from the hint the model's own color stays"


def test_a_one_pixel_hint_dot_survives_downscaling(model):
    gray = np.full((800, 1000), 128, np.uint8)
    rgba = np.zeros((800, 1000, 4), np.uint8)
    rgba[400, 500] = [0, 200, 0, 255]
    result = colorize(gray, model, hints=hints_from_rgba(rgba), render_size=64)
    lab = color.rgb_to_lab(result[390:410, 490:510].astype(np.float32) / 255)
    assert lab[..., 1].min() < -20, "the green dot must reach the network and color its cell"


def test_hint_images_without_alpha_are_refused():
    with pytest.raises(InputError, match="alpha"):
        hints_from_rgba(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError):
        Hints(ab=np.zeros((2, 4, 4), np.float32), mask=np.zeros((5, 5), np.float32))


@pytest.mark.parametrize(
    "pixels, message",
    [
        (np.zeros((0, 5), np.uint8), "empty"),
        (np.zeros((4, 4, 5), np.uint8), "channels"),
        (np.zeros((4, 4), np.int32), "unsupported pixel type"),
        ([[1, 2]], "numpy array"),
    ],
)
def test_bad_inputs_get_clear_errors(pixels, message, model):
    with pytest.raises(InputError, match=message):
        colorize(pixels, model)


def test_huge_images_are_refused_before_any_work(model, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PIXELS", 100)
    with pytest.raises(InputError, match="too large"):
        colorize(np.zeros((20, 20), np.uint8), model)


def test_the_input_array_is_never_modified(rgb_u8, model):
    before = rgb_u8.copy()
    colorize(rgb_u8, model, selection=np.full(rgb_u8.shape[:2], 0.5, np.float32), saturation=2.0)
    np.testing.assert_array_equal(rgb_u8, before)


def test_progress_is_reported_up_to_one(gray_u8, model):
    seen = []
    colorize(gray_u8, model, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
