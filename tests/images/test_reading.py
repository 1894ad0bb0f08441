"""Reading images (gimp_plugin/images/reading.py): TIFFs as scanners and archives write them (Lab and YCbCr, 4- and
12-bit samples, a preview as the first page, many samples a pixel, fax and other compressions), multi-page and
animated files as their first page, orientation, and sizes checked before decoding."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tifffile
from PIL import Image

from gimp_plugin.core import color, limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.images import writing as image_write
from gimp_plugin.images.reading import read_image, upright
from tests.cli_runs import run, save_gray


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


@pytest.mark.parametrize("name", ["big.png", "big.tif"])
def test_declared_sizes_are_checked_before_decoding(tmp_path, monkeypatch, name):
    path = tmp_path / name
    if name.endswith(".png"):
        save_gray(path, size=(400, 300))
    else:
        tifffile.imwrite(path, np.zeros((300, 400), np.uint16))
    monkeypatch.setattr(limits, "available_memory", lambda: limits.BASE_BYTES + 1000)
    decoded = []
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda *a, **k: decoded.append(1))
    monkeypatch.setattr(Image.Image, "load", lambda *a, **k: decoded.append(1))
    with pytest.raises(InputError, match="needs about .* GB of memory"):
        read_image(path)
    assert not decoded
    monkeypatch.setattr(limits, "MAX_PIXELS", 1000)
    with pytest.raises(InputError, match="too large"):
        read_image(path)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_followed_as_exif_is(tmp_path, orientation):
    from PIL import ImageOps

    stored = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(4, 6, 3)
    tifffile.imwrite(tmp_path / "o.tif", stored, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    jpeg_like = Image.fromarray(stored)
    exif = jpeg_like.getexif()
    exif[274] = orientation
    jpeg_like.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(jpeg_like))
    np.testing.assert_array_equal(read_image(tmp_path / "o.tif").pixels, expected)
    np.testing.assert_array_equal(upright(stored, orientation), expected)


@pytest.mark.parametrize("pages", [2, 3, 4])
def test_a_multi_page_tiff_is_its_first_page_with_a_note(tmp_path, pages):
    stack = np.stack([np.full((12, 20), 40 * (index + 1), np.uint8) for index in range(pages)])
    tifffile.imwrite(tmp_path / "scan.tif", stack, photometric="minisblack")
    loaded = read_image(tmp_path / "scan.tif")
    assert loaded.pixels.shape == (12, 20) and (loaded.pixels == 40).all(), "the first page, gray, alone"
    assert any(f"{pages} pages; only the first page" in note for note in loaded.notes)


def test_only_the_first_page_of_a_tiff_is_decoded(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "scan.tif", np.zeros((50, 12, 20), np.uint8), photometric="minisblack")
    decoded, real = [], tifffile.TiffPage.asarray

    def recording(page, *args, **kwargs):
        decoded.append(page.index)
        return real(page, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffPage, "asarray", recording)
    assert read_image(tmp_path / "scan.tif").pixels.shape == (12, 20)
    assert decoded == [0]


def test_a_multi_page_tiff_with_pages_of_other_sizes_is_its_first_page(tmp_path, model_path, capsys):
    with tifffile.TiffWriter(tmp_path / "album.tif") as tiff:
        tiff.write(np.full((16, 24), 90, np.uint8))
        tiff.write(np.zeros((40, 30, 3), np.uint8), photometric="rgb")
    assert run(tmp_path / "album.tif", "-o", tmp_path / "out.tif", "--model", model_path) == 0
    assert tifffile.imread(tmp_path / "out.tif").shape == (16, 24, 3)
    assert "2 pages; only the first page was colorized" in capsys.readouterr().err


def test_an_animated_png_is_its_first_frame_with_a_note(tmp_path):
    frames = [Image.fromarray(np.full((10, 14), value, np.uint8)) for value in (30, 200)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    loaded = read_image(tmp_path / "anim.png")
    assert (loaded.pixels == 30).all() and any("2 frames" in note for note in loaded.notes)


def test_the_16_bit_note_names_gray_plus_alpha(tmp_path):
    pixels = np.zeros((6, 8, 2), np.uint16)
    pixels[..., 1] = 65535
    with open(tmp_path / "la16.png", "wb") as handle:
        image_write._write_png16(pixels, handle)
    notes = read_image(tmp_path / "la16.png").notes
    assert any(note.startswith("16-bit gray+alpha PNG") for note in notes) and not any("RGB" in n for n in notes)


def test_tifffile_warnings_do_not_reach_the_user(tmp_path, monkeypatch, caplog):
    tifffile.imwrite(tmp_path / "odd.tif", np.zeros((8, 8), np.uint8))
    real = tifffile.TiffPage.asarray

    def warning(page, *args, **kwargs):
        logging.getLogger("tifffile").warning("TiffPage 0: odd tag")
        return real(page, *args, **kwargs)

    monkeypatch.setattr(tifffile.TiffPage, "asarray", warning)
    with caplog.at_level(logging.WARNING):
        read_image(tmp_path / "odd.tif")
    assert "odd tag" not in caplog.text


@pytest.mark.parametrize("compression", ["lzw", "jpeg", "zlib", "packbits"])
def test_compressed_tiffs_are_read(tmp_path, compression):
    gray = np.add.outer(np.arange(32), np.arange(48)).astype(np.uint8) * 2
    tifffile.imwrite(tmp_path / "scan.tif", gray, compression=compression)
    pixels = read_image(tmp_path / "scan.tif").pixels
    assert pixels.shape == (32, 48) and np.abs(pixels.astype(int) - gray).max() <= (8 if compression == "jpeg" else 0)


@pytest.mark.parametrize("compression", ["group3", "group4", "tiff_ccitt"])
def test_ccitt_fax_tiffs_are_read_as_black_and_white(tmp_path, compression):
    bilevel = (np.add.outer(np.arange(24), np.arange(40)) % 7 < 3).astype(np.uint8) * 255
    Image.fromarray(bilevel).convert("1").save(tmp_path / "fax.tif", compression=compression)
    pixels = read_image(tmp_path / "fax.tif").pixels
    assert pixels.dtype == np.uint8 and (pixels == bilevel).all()


def test_a_tiff_codec_that_tifffile_lacks_falls_back_to_pillow(tmp_path, monkeypatch):
    gray = np.add.outer(np.arange(20), np.arange(30)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "scan.tif", gray, compression="lzw")

    def no_codec(*args, **kwargs):
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_codec)
    assert (read_image(tmp_path / "scan.tif").pixels == gray).all()
