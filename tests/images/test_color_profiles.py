"""Colour profiles (gimp_plugin/images/color_profiles.py): converted to sRGB, never a gray or CMYK profile on an
RGB output."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageCms

from gimp_plugin.images.reading import read_image
from tests import icc_profiles
from tests.cli_runs import run, save_gray


def profile_description(path: Path) -> str:
    with Image.open(path) as image:
        icc = image.info.get("icc_profile")
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() if icc else ""


def test_an_adobe_rgb_photo_is_converted_to_srgb_and_tagged_srgb(tmp_path, model_path):
    pixels = np.zeros((8, 8, 3), np.uint8) + np.array([200, 100, 50], np.uint8)
    Image.fromarray(pixels).save(tmp_path / "adobe.png", icc_profile=icc_profiles.adobe_rgb())
    loaded = read_image(tmp_path / "adobe.png")
    expected = ImageCms.profileToProfile(
        Image.fromarray(pixels),
        ImageCms.ImageCmsProfile(io.BytesIO(icc_profiles.adobe_rgb())),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        outputMode="RGB",
    )
    np.testing.assert_array_equal(loaded.pixels, np.asarray(expected))
    assert loaded.pixels[0, 0, 0] > 220 and any("converted" in note for note in loaded.notes)
    for suffix in (".png", ".jpg", ".webp", ".tif"):
        out = tmp_path / f"out{suffix}"
        assert run(tmp_path / "adobe.png", "-o", out, "--model", model_path, "-q") == 0
        if suffix == ".tif":
            with tifffile.TiffFile(out) as tiff:
                icc = tiff.pages.first.tags["InterColorProfile"].value
            assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(bytes(icc))))
        else:
            assert "sRGB" in profile_description(out), suffix


def test_gray_and_cmyk_profiles_never_reach_an_rgb_output(tmp_path, model_path):
    save_gray(tmp_path / "gray.png", icc_profile=icc_profiles.gray_gamma(1.8))
    loaded = read_image(tmp_path / "gray.png")
    assert loaded.pixels.ndim == 3 and loaded.pixels[0, 14, 0] > 126 + 10, "mid-gray at gamma 1.8 is lighter in sRGB"
    Image.new("CMYK", (16, 12), (0, 0, 0, 100)).save(tmp_path / "cmyk.jpg", icc_profile=icc_profiles.not_a_profile())
    for name in ("gray.png", "cmyk.jpg"):
        out = tmp_path / f"out_{name}"
        assert run(tmp_path / name, "-o", out, "--model", model_path, "-q") == 0
        with Image.open(out) as image:
            assert image.mode == "RGB"
        assert "sRGB" in profile_description(out), name


def test_16_bit_outputs_keep_an_srgb_profile(tmp_path, model_path):
    sixteen = (np.tile(np.arange(16, dtype=np.uint16), (12, 1)) * 4000)[..., None].repeat(3, axis=2)
    tifffile.imwrite(tmp_path / "in.tif", sixteen, photometric="rgb", iccprofile=icc_profiles.adobe_rgb())
    loaded = read_image(tmp_path / "in.tif")
    assert any("cannot be applied" in note for note in loaded.notes)
    assert run(tmp_path / "in.tif", "-o", tmp_path / "out.png", "--model", model_path, "-q") == 0
    assert (tmp_path / "out.png").read_bytes()[24] == 16 and "sRGB" in profile_description(tmp_path / "out.png")
