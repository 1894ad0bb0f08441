import numpy as np

from gimp_plugin.core.resample import area_resize, bilinear_resize


def test_area_resize_keeps_the_mean_and_constant_images():
    rng = np.random.default_rng(0)
    image = rng.random((97, 131)).astype(np.float32)
    small = area_resize(image, 13, 29)
    assert small.shape == (13, 29)
    assert abs(small.mean() - image.mean()) < 1e-4
    assert np.allclose(area_resize(np.full((50, 70), 0.25, np.float32), 7, 9), 0.25)


def test_area_resize_integer_factor_is_block_mean():
    image = np.arange(36, dtype=np.float32).reshape(6, 6)
    expected = image.reshape(3, 2, 3, 2).mean(axis=(1, 3))
    assert np.allclose(area_resize(image, 3, 3), expected)


def test_a_single_pixel_survives_strong_reduction():
    image = np.zeros((1000, 1500), np.float32)
    image[517, 1234] = 1
    small = area_resize(image, 10, 15)
    assert np.count_nonzero(small > 1e-9) == 1
    assert small.sum() * (100 * 100) == np.float32(1) or abs(small.sum() * 10000 - 1) < 1e-3


def test_bilinear_upsampling_is_exact_on_linear_ramps_and_keeps_shape():
    ramp = np.tile(np.arange(8, dtype=np.float32), (2, 6, 1))
    big = bilinear_resize(ramp, 24, 32)
    assert big.shape == (2, 24, 32)
    inner = big[:, :, 2:-2]
    assert np.allclose(np.diff(inner, axis=2), 0.25, atol=1e-5)
    assert np.allclose(bilinear_resize(np.ones((2, 1, 1), np.float32), 5, 7), 1)


def test_area_resize_fractional_cells_match_the_integral_of_the_pixels():
    image = np.array([[1, 2, 3, 4, 5]], np.float32)  # 5 pixels into 2 cells of 2.5 pixels each
    np.testing.assert_allclose(area_resize(image, 1, 2), [[(1 + 2 + 1.5) / 2.5, (1.5 + 4 + 5) / 2.5]], rtol=1e-6)


def test_area_resize_stretches_each_sample_evenly():
    image = np.array([[1, 3]], np.float32)  # stretched 2 -> 5: the middle output straddles both pixels
    np.testing.assert_allclose(area_resize(image, 1, 5), [[1, 1, 2, 3, 3]], rtol=1e-6)
    np.testing.assert_allclose(area_resize(np.array([[7]], np.float32), 3, 4), 7, rtol=1e-6)
