"""TIFF files as scanners and archives write them: Lab and YCbCr photometrics, 4- and 12-bit samples, a reduced
preview stored as the first page, and many samples a pixel."""

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from gimp_plugin.core import color, limits  # noqa: E402
from gimp_plugin.core.errors import InputError  # noqa: E402
from gimp_plugin.images.reading import read_image  # noqa: E402


def lightness(pixels: np.ndarray) -> np.ndarray:
    scale = 255.0 if pixels.dtype == np.uint8 else 65535.0
    rgb = pixels.astype(np.float32) / scale
    return color.rgb_to_lightness(rgb if rgb.ndim == 3 else np.repeat(rgb[..., None], 3, axis=2))


def test_a_cielab_tiff_keeps_its_lightness(tmp_path):
    lab = np.zeros((4, 6, 3), np.uint8)
    lab[..., 0] = np.linspace(20, 240, 6, dtype=np.uint8)  # L* = value * 100 / 255
    lab[..., 1], lab[..., 2] = 30, 256 - 40  # a* = 30, b* = -40 (signed)
    tifffile.imwrite(tmp_path / "lab.tif", lab, photometric="cielab")
    read = read_image(tmp_path / "lab.tif").pixels
    np.testing.assert_allclose(lightness(read), lab[..., 0].astype(float) * 100 / 255, atol=0.3)


def test_an_uncompressed_ycbcr_tiff_is_read_as_rgb(tmp_path):
    rgb = np.array([[[200, 60, 40], [30, 150, 220]]], np.uint8)
    red, green, blue = (rgb[..., i].astype(np.float32) for i in range(3))
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    ycbcr = np.stack([luma, 128 + (blue - luma) / 1.772, 128 + (red - luma) / 1.402], -1).round().astype(np.uint8)
    tifffile.imwrite(tmp_path / "ycc.tif", ycbcr, photometric="ycbcr", subsampling=(1, 1))
    np.testing.assert_allclose(read_image(tmp_path / "ycc.tif").pixels.astype(int), rgb.astype(int), atol=2)


@pytest.mark.parametrize(("bits", "dtype"), [(4, np.uint8), (12, np.uint16)])
def test_samples_of_fewer_bits_reach_full_scale(tmp_path, bits, dtype):
    top = (1 << bits) - 1
    stored = np.array([[0, top // 2, top]], dtype)
    tifffile.imwrite(tmp_path / "g.tif", stored, bitspersample=bits, photometric="minisblack")
    read = read_image(tmp_path / "g.tif").pixels
    full = np.iinfo(dtype).max
    assert read.dtype == dtype and read[0, 0] == 0 and read[0, 2] == full
    assert abs(int(read[0, 1]) - full // 2) <= full // top, "mid-gray stays mid-gray"


def test_a_reduced_preview_stored_first_is_passed_over(tmp_path):
    with tifffile.TiffWriter(tmp_path / "scan.tif") as tiff:
        tiff.write(np.zeros((48, 64), np.uint8), subfiletype=1)  # the preview
        tiff.write(np.full((480, 640), 90, np.uint8))  # the photo
    loaded = read_image(tmp_path / "scan.tif")
    assert loaded.pixels.shape[:2] == (480, 640) and int(loaded.pixels.mean()) == 90 and not loaded.notes


def test_the_memory_check_counts_every_sample_a_tiff_stores(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 2_000_000_000)
    limits.check_declared_size(3000, 3000, 1, samples=3)  # a photo: fits in 2 GB
    with pytest.raises(InputError, match="GB of memory"):
        limits.check_declared_size(3000, 3000, 1, samples=300)  # 2.7 GB decoded before 4 are kept
