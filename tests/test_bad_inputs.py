"""Bad input loses nothing and gets a clear message: the defects a bad-input probe found, one test each."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from gimp_plugin.cli import main as cli
from gimp_plugin.core import limits
from gimp_plugin.core.errors import InputError, ModelError, OutputError
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.session import ColorizationModel, load_model
from gimp_plugin.images import writing as image_write
from gimp_plugin.images.hint_files import read_hints
from gimp_plugin.images.reading import read_image, upright
from gimp_plugin.images.writing import write_image
from gimp_plugin.worker import jobs
from gimp_plugin.worker import serve as worker
from tests import icc_profiles
from tests.onnx_models import TEST_INFO, save_model

ROOT = Path(__file__).resolve().parents[1]


def run(*args) -> int:
    return cli.main([str(a) for a in args])


def save_gray(path: Path, size=(24, 16), **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.tile(np.arange(size[0], dtype=np.uint8) * 9, (size[1], 1))).save(path, **options)
    return path


def profile_description(path: Path) -> str:
    with Image.open(path) as image:
        icc = image.info.get("icc_profile")
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() if icc else ""


# --- 1, 2: no input is written over, and two inputs never share an output -------------------------------------------
def test_an_input_is_not_written_over_by_another_inputs_output(tmp_path, model_path):
    scans = tmp_path / "scans"
    original = save_gray(scans / "photo.jpg").read_bytes()
    save_gray(scans / "photo.png")
    assert run(scans, "-o", scans, "--format", "jpg", "--overwrite", "--model", model_path, "-q") == cli.EXIT_USAGE
    assert (scans / "photo.jpg").read_bytes() == original
    (scans / "photo.png").unlink()
    save_gray(scans / "other.png")
    assert run(scans, "-o", scans, "--format", "jpg", "--overwrite", "--model", model_path, "-q") == 1
    assert (scans / "photo.jpg").read_bytes() == original, "photo.jpg is an input: never an output"
    assert (scans / "other.jpg").is_file(), "the other file is still done"


def test_two_inputs_with_one_output_name_stop_the_run_before_any_work(tmp_path, model_path, capsys):
    save_gray(tmp_path / "in" / "a.jpg")
    save_gray(tmp_path / "in" / "a.tif")
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"]):
        assert run(tmp_path / "in", "-o", out, "--format", "png", "--model", model_path, *extra) == cli.EXIT_USAGE
        assert not out.exists(), "nothing was written"
        assert "same output file" in capsys.readouterr().err


# --- 3: write errors are reported per file, and the batch goes on ----------------------------------------------------
def test_a_write_error_skips_that_file_and_the_batch_goes_on(tmp_path, model_path, capsys):
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "album" / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "album").write_text("a file where the output folder should be")
    assert run(tmp_path / "in", "-o", out, "--model", model_path, "-q") == 1
    assert (out / "a.png").is_file()
    assert "a part of the folder path is a file" in capsys.readouterr().err


def test_a_full_disk_is_named_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(pixels, suffix, icc, handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_write, "_encode", full)
    with pytest.raises(OutputError, match="no space left"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_a_file_created_meanwhile_by_another_run_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "x.png"
    encode = image_write._encode

    def racing(pixels, suffix, icc, handle):
        target.write_bytes(b"the other run's result")  # appears after the exists check, before the rename
        encode(pixels, suffix, icc, handle)

    monkeypatch.setattr(image_write, "_encode", racing)
    with pytest.raises(InputError, match="exists"):
        write_image(target, np.zeros((4, 4), np.uint8))
    assert target.read_bytes() == b"the other run's result" and len(list(tmp_path.iterdir())) == 1


# --- 5: color profiles ------------------------------------------------------------------------------------------------
def test_an_adobe_rgb_photo_is_converted_to_srgb_and_tagged_srgb(tmp_path, model_path):
    pixels = np.zeros((8, 8, 3), np.uint8) + np.array([200, 100, 50], np.uint8)
    Image.fromarray(pixels).save(tmp_path / "adobe.png", icc_profile=icc_profiles.adobe_rgb())
    loaded = read_image(tmp_path / "adobe.png")
    expected = ImageCms.profileToProfile(
        Image.fromarray(pixels), ImageCms.ImageCmsProfile(io.BytesIO(icc_profiles.adobe_rgb())),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), outputMode="RGB",
    )  # fmt: skip
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


# --- 6: memory is checked before decoding -----------------------------------------------------------------------------
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
    assert run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--hints", tmp_path / "hints.png",
               "--model", model_path) == 1  # fmt: skip
    assert "the hint image" in capsys.readouterr().err


# --- 7: SIGTERM and SIGHUP clean up ---------------------------------------------------------------------------------
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_leaves_no_temporary_file(tmp_path, model_path, signal_number):
    save_gray(tmp_path / "in" / "a.png")
    script = (
        "import sys, time\n"
        "from gimp_plugin.cli import main as cli\n"
        "from gimp_plugin.images import writing as image_write\n"
        "def slow(pixels, suffix, icc, handle):\n"
        "    handle.write(b'half an image'); handle.flush(); time.sleep(60)\n"
        "image_write._encode = slow\n"
        f"sys.exit(cli.main([{str(tmp_path / 'in')!r}, '-o', {str(tmp_path / 'out')!r}, '--model', "
        f"{str(model_path)!r}, '-q']))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list((tmp_path / "out").glob(".*.tmp")) and time.time() < deadline:
        time.sleep(0.05)
    assert list((tmp_path / "out").glob(".*.tmp")), "the run got as far as writing"
    process.send_signal(signal_number)
    _, error = process.communicate(timeout=30)
    assert process.returncode == 128 + signal_number and b"stopped" in error
    assert list((tmp_path / "out").iterdir()) == []


# --- 8: messages that name the real problem --------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_saturation_that_is_not_a_number_is_refused(tmp_path, value, capsys):
    with pytest.raises(SystemExit) as stop:
        run(save_gray(tmp_path / "a.png"), "-o", tmp_path / "o.png", "--saturation", value)
    assert stop.value.code == 2 and "give a number from 0 to 10" in capsys.readouterr().err


def test_a_nan_pixel_is_blamed_on_the_image(model):
    pixels = np.full((8, 8), 0.5, np.float32)
    pixels[3, 3] = np.nan
    with pytest.raises(InputError, match="not numbers"):
        colorize(pixels, model)


def test_a_huge_worker_header_is_refused_before_reading(monkeypatch):
    header = {"protocol": 1, "width": 200_000, "height": 200_000, "channels": 4, "format": "f32"}
    out = io.BytesIO()
    worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n"), out)
    reply = json.loads(out.getvalue().splitlines()[-1])
    assert not reply["ok"] and "too large" in reply["error"] and "out of memory" not in reply["error"]


def test_models_asking_for_absurd_sizes_or_painting_garbage_are_refused(tmp_path, gray_u8):
    from dataclasses import replace

    with pytest.raises(ModelError, match="size_multiple"):
        ColorizationModel(save_model(tmp_path / "m.onnx", info=replace(TEST_INFO, size_multiple=100000)))
    with pytest.raises(ModelError, match="test run .* far outside the Lab range"):  # found on load, not per photo
        ColorizationModel(save_model(tmp_path / "g.onnx", gain=1e6))


def test_a_missing_colorize_model_file_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL", str(tmp_path / "none.onnx"))
    with pytest.raises(ModelError, match="COLORIZE_MODEL is set to"):
        load_model()


def test_a_truncated_or_foreign_checkpoint_gets_a_message(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.onnx_io import export

    (tmp_path / "truncated.pt").write_bytes(b"PK\x03\x04 not really")
    assert export.main([str(tmp_path / "truncated.pt"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    __import__("torch").save({"weights": 1}, tmp_path / "foreign.pt")
    assert export.main([str(tmp_path / "foreign.pt"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "not a colorize-train checkpoint" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()


# --- 9: smaller ones ------------------------------------------------------------------------------------------------
def test_an_output_folder_inside_the_input_folder_is_not_read_again(tmp_path, model_path):
    save_gray(tmp_path / "scans" / "a.png")
    assert run(tmp_path / "scans", "-o", tmp_path / "scans" / "colorized", "--model", model_path, "-q") == 0
    assert run(tmp_path / "scans", "-o", tmp_path / "scans" / "colorized", "--model", model_path, "-q",
               "--overwrite") == 0  # fmt: skip
    assert sorted(p.relative_to(tmp_path / "scans").as_posix() for p in (tmp_path / "scans").rglob("*.png")) == [
        "a.png", "colorized/a.png",
    ]  # fmt: skip


def test_gif_is_refused_as_a_file_and_skipped_in_folders(tmp_path, model_path, capsys):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "anim.gif")
    assert run(tmp_path / "anim.gif", "-o", tmp_path / "o.png", "--model", model_path) == 1
    assert "GIF files are not read" in capsys.readouterr().err


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


def test_export_refuses_to_replace_a_model_unless_asked(tmp_path, capsys):
    pytest.importorskip("torch")
    from tests.test_training import tiny
    from training.onnx_io import export
    from training.trainer.train import main as train_main

    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 0
    target = tmp_path / "model.onnx"
    target.write_bytes(b"precious")
    with pytest.raises(SystemExit):
        export.main([str(tmp_path / "run"), "-o", str(target)])
    assert target.read_bytes() == b"precious" and "--overwrite" in capsys.readouterr().err
    assert export.main([str(tmp_path / "run"), "-o", str(target), "--overwrite"]) == 0
    assert ColorizationModel(target).info.arch == "plain-conv", "the baseline preset exports (it has no head)"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no partial file is left"
    again = tmp_path / "again.onnx"  # and re-exports with another gain, a tiny one written as 5e-05 included
    assert export.main([str(target), "-o", str(again), "--chroma-gain", "0.00005"]) == 0
    assert "chroma gain 5e-05" in ColorizationModel(again).info.trained_on


def test_a_job_of_the_gimp_bridge_reads_hints_and_selection_as_bytes(model_path):
    pixels = np.full((6, 8), 128, np.uint8)
    hints = np.zeros((6, 8, 4), np.uint8)
    hints[:, :4] = [0, 0, 255, 255]
    header = {"protocol": 1, "width": 8, "height": 6, "channels": 1, "format": "u8", "model": str(model_path),
              "hints": {"width": 8, "height": 6, "channels": 4, "format": "u8", "offset": [0, 0]},
              "selection": {"format": "u8"}}  # fmt: skip
    parts = iter([pixels.tobytes(), hints.tobytes(), np.full((6, 8), 255, np.uint8).tobytes()])
    result = jobs.execute(header, lambda size: next(parts))
    assert result.shape == (6, 8, 3) and result.dtype == np.uint8
    assert int(result[0, 0, 2]) > int(result[0, 7, 2]), "blue where the hint is"
