"""The 8-bit table path: same colours as the exact conversion up to a dithered table step, same L*."""

import numpy as np
import pytest

from gimp_plugin.core import color, render_paths, table8
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.render import inspect_pixels
from gimp_plugin.core.resample import bilinear_resize


def render(ab_small: np.ndarray, codes: np.ndarray, saturation: float = 1.0, strip_rows: int = 8) -> np.ndarray:
    height, width = codes.shape
    renderer = table8.TableRenderer(ab_small, saturation, height, width, strip_rows)
    out = np.empty((height, width, 3), np.uint8)
    for start in range(0, height, strip_rows):
        renderer.render(codes[start : start + strip_rows], start, out[start : start + strip_rows])
    return out


def exact(ab_small: np.ndarray, codes: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    ab = bilinear_resize(ab_small * np.float32(saturation), *codes.shape)
    lab = np.dstack([color.gray_to_lightness(codes / 255.0), ab[0], ab[1]])
    return np.round(color.lab_to_rgb(lab) * 255).astype(np.uint8)


@pytest.fixture
def chroma_field() -> np.ndarray:
    """Smooth a*, b* at render size, spanning +-40: a table step of 1 or 2."""
    y, x = np.mgrid[0:12, 0:16].astype(np.float32)
    return np.stack([40 * np.sin(x / 4 + y / 7), 35 * np.cos(y / 3) - 5]).astype(np.float32)


@pytest.fixture
def textured_codes() -> np.ndarray:
    return np.random.default_rng(3).integers(40, 230, (96, 128)).astype(np.uint8)


def test_colours_match_the_exact_conversion_and_the_dither_averages_out(chroma_field, textured_codes):
    fast, reference = render(chroma_field, textured_codes), exact(chroma_field, textured_codes)
    fast_lab, reference_lab = color.rgb_to_lab(fast / 255.0), color.rgb_to_lab(reference / 255.0)
    assert np.abs(fast_lab[..., 0] - reference_lab[..., 0]).max() < 0.5, "L* is the input's on both paths"
    chroma_error = fast_lab[..., 1:] - reference_lab[..., 1:]
    assert np.abs(chroma_error).max() < 4, "each pixel within a table step (plus 8-bit rounding)"
    assert np.abs(chroma_error.mean(axis=(0, 1))).max() < 0.1, "the ordered dither leaves no bias"
    cells = chroma_error.reshape(12, 8, 16, 8, 2).mean(axis=(1, 3))  # 4x4 dither thresholds over 2x2-pixel blocks
    assert np.abs(cells).max() < 1.0, "averaged over the dither cell, the error nearly vanishes"


@pytest.mark.parametrize("shape", [(40, 56), (97, 131)])  # upscaled 3.3x (per pixel); 8x, odd (in 2x2 blocks)
def test_both_interpolation_grains_match_the_exact_conversion(chroma_field, shape):
    codes = np.random.default_rng(5).integers(40, 230, shape).astype(np.uint8)
    renderer = table8.TableRenderer(chroma_field, 1.0, *shape, 8)
    assert renderer.block == (2 if shape[0] / 12 >= table8.BLOCK_MIN_SCALE else 1)
    fast, reference = render(chroma_field, codes), exact(chroma_field, codes)
    chroma_error = color.rgb_to_lab(fast / 255.0)[..., 1:] - color.rgb_to_lab(reference / 255.0)[..., 1:]
    assert np.abs(chroma_error).max() < 4 and np.abs(chroma_error.mean(axis=(0, 1))).max() < 0.15


def test_strip_boundaries_do_not_show(chroma_field):
    codes = np.random.default_rng(6).integers(0, 256, (97, 131)).astype(np.uint8)
    np.testing.assert_array_equal(render(chroma_field, codes, strip_rows=7), render(chroma_field, codes, strip_rows=16))


@pytest.mark.parametrize("width", [1, 2, 131])
def test_every_output_layout_gets_the_same_bytes_and_nothing_outside_its_rows(chroma_field, width):
    codes = np.random.default_rng(8).integers(0, 256, (24, width)).astype(np.uint8)
    renderer = table8.TableRenderer(chroma_field, 1.0, 24, width, 8)
    expected = render(chroma_field, codes)
    rgb = np.full((24, width, 3), 7, np.uint8)  # rows contiguous: the packed 32-bit writes
    rgba = np.full((24, width, 4), 7, np.uint8)
    strided = np.full((24, width + 3, 3), 7, np.uint8)[:, :width]  # rows apart: the plain 3-byte gather
    for out in (rgb, rgba, strided):
        renderer.render(codes[8:16], 8, out[8:16])
        np.testing.assert_array_equal(out[8:16, :, :3], expected[8:16])
        assert (out[:8] == 7).all() and (out[16:] == 7).all(), "the rows around the strip are untouched"
    assert (rgba[8:16, :, 3] == 0).all()


def test_zero_chroma_gives_the_gray_codes_back_exactly(textured_codes):
    out = render(np.zeros((2, 12, 16), np.float32), textured_codes)
    np.testing.assert_array_equal(out, np.repeat(textured_codes[..., None], 3, axis=2))


def test_saturation_zero_is_exact_gray_whatever_the_chroma(chroma_field, textured_codes):
    out = render(chroma_field, textured_codes, saturation=0.0)
    np.testing.assert_array_equal(out, np.repeat(textured_codes[..., None], 3, axis=2))


@pytest.mark.parametrize(
    ("shape", "size"), [((1, 1), (1, 1)), ((37, 5), (37, 5)), ((300, 7), (129, 3)), ((1000, 333), (512, 170))]
)
def test_render_size_lightness_equals_the_general_box_filter(shape, size):
    codes = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    layout = inspect_pixels(codes)
    general = render_paths.LabPath(codes, layout, 2).measure(size, lambda fraction: None)
    fast = render_paths.TablePath(codes, layout, 2).measure(size, lambda fraction: None)
    np.testing.assert_allclose(fast, general, atol=1e-3)


def test_rgb_with_equal_channels_takes_the_gray_path_and_colour_rgb_does_not(gray_u8, rgb_u8, model):
    as_rgb = np.repeat(gray_u8[..., None], 3, axis=2)
    assert table8.gray_codes(as_rgb, 3) is not None
    assert table8.gray_codes(rgb_u8, 3) is None
    assert table8.gray_codes(gray_u8.astype(np.uint16), 1) is None
    np.testing.assert_array_equal(colorize(as_rgb, model), colorize(gray_u8, model))


def test_the_table_stays_within_its_budget_even_for_extreme_chroma():
    extreme = np.stack([np.full((4, 4), -128.0), np.full((4, 4), 127.0)]).astype(np.float32)
    extreme[:, 0, 0] = [127.0, -128.0]
    renderer = table8.TableRenderer(extreme, 1.0, 8, 8, 8)
    assert len(renderer.table) <= table8.TABLE_CELLS
    ramp = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    usual = np.stack([-20 + 60 * ramp, -10 + 70 * ramp[::-1]])  # a* in [-20, 40], b* in [-10, 60]
    assert table8.TableRenderer(usual, 1.0, 8, 8, 8).step <= 2.0


def test_alpha_is_copied_on_the_gray_path(gray_u8, model):
    alpha = np.arange(gray_u8.size, dtype=np.uint32).reshape(gray_u8.shape).astype(np.uint8)
    result = colorize(np.dstack([gray_u8, alpha]), model)
    np.testing.assert_array_equal(result[..., 3], alpha)
    np.testing.assert_array_equal(result[..., :3], colorize(gray_u8, model))


def test_colour_codes_hold_the_exact_lightness_to_within_half_a_step():
    rgb = np.random.default_rng(7).integers(0, 256, (64, 64, 4)).astype(np.uint8)  # alpha ignored
    codes = table8.colour_codes(rgb)
    exact = color.luminance_to_lightness(color.srgb_to_linear(rgb[..., :3] / np.float32(255)) @ color.LUMA)
    step = 100 / 255
    assert np.abs(table8.LIGHTNESS_OF_CODE[codes] - exact).max() <= step / 2 + 0.01
    gray = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)  # the extremes map to 0 and 255
    assert table8.colour_codes(gray)[0, 0] == 0 and table8.colour_codes(gray)[0, -1] == 255


@pytest.mark.parametrize("width", [1, 6, 7])
def test_lookups_two_pixels_at_a_time_equal_plain_indexing(width):
    codes = np.random.default_rng(8).integers(0, 256, (40, width * 3)).astype(np.uint8)
    for values in (table8.LIGHTNESS_OF_U8, table8.LIGHTNESS_OF_CODE):
        for view in (codes[:, :width], codes[:, ::3]):  # contiguous rows, and a strided plane (as of R = G = B)
            np.testing.assert_array_equal(table8.lookup(values, view), values[view])
