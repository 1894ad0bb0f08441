"""The `colorize` command: single files, folders, failures among good files, and never losing an input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.cli import photo as files
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.images.reading import read_image
from gimp_plugin.images.writing import write_image
from tests.cli_runs import run, save_gray

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def photos(tmp_path, gray_u8):
    folder = tmp_path / "scans"
    (folder / "album").mkdir(parents=True)
    Image.fromarray(gray_u8).save(folder / "a.png")
    Image.fromarray(gray_u8).save(folder / "album" / "b.jpg", quality=95)
    Image.fromarray(np.dstack([gray_u8] * 3)).save(folder / "album" / "c.webp")
    (folder / "album" / "broken.jpg").write_bytes(b"this is not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_one_file(tmp_path, photos, model_path):
    out = tmp_path / "out.png"
    assert run(photos / "a.png", "-o", out, "--model", model_path, "--quiet") == 0
    result = read_image(out).pixels
    assert result.shape == (40, 56, 3)
    assert result.std(axis=2).mean() > 3, "the output has color"


def test_folder_batch_keeps_relative_paths_and_reports_the_broken_file(tmp_path, photos, model_path, capsys):
    out = tmp_path / "colored"
    status = run(photos, "-o", out, "--model", model_path)
    assert status == 1, "one input failed, so the exit status says so"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.png",
        "album/b.jpg",
        "album/c.webp",
    ]
    error = capsys.readouterr().err
    assert "broken.jpg" in error and "1 of 4" in error
    assert not list(out.rglob("*.tmp")), "no temporary files are left behind"


def test_format_changes_the_extension(tmp_path, photos, model_path):
    out = tmp_path / "colored"
    run(photos / "album" / "b.jpg", photos / "a.png", "-o", out, "--model", model_path, "--format", "tif", "-q")
    assert sorted(p.name for p in out.iterdir()) == ["a.tif", "b.tif"]


def test_existing_outputs_are_kept_as_done_before_unless_overwrite(tmp_path, photos, model_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    assert run(photos / "a.png", "-o", out, "--model", model_path) == 0
    assert out.read_bytes() == b"precious"
    assert "1 done before (pass --overwrite to redo it)" in capsys.readouterr().err
    assert run(photos / "a.png", "-o", out, "--model", model_path, "-q", "--overwrite") == 0
    assert out.read_bytes() != b"precious"


def test_an_input_is_never_written_over_even_with_overwrite(photos, model_path):
    source = photos / "a.png"
    before = source.read_bytes()
    assert run(source, "-o", source, "--model", model_path, "--overwrite", "-q") == 1
    assert source.read_bytes() == before
    assert run(photos, "-o", photos, "--model", model_path, "--overwrite", "-q") == 1
    assert source.read_bytes() == before


def test_missing_model_is_explained(tmp_path, photos, capsys, monkeypatch):
    from gimp_plugin.core import session as model

    monkeypatch.delenv("COLORIZE_MODEL", raising=False)
    monkeypatch.setattr(model, "default_model_path", lambda: tmp_path / "none.onnx")
    assert run(photos / "a.png", "-o", tmp_path / "o.png") == 2
    assert "the shipped model is missing" in capsys.readouterr().err


def test_missing_input_is_reported_and_others_still_run(tmp_path, photos, model_path, capsys):
    out = tmp_path / "o"
    assert run(tmp_path / "ghost.png", photos / "a.png", "-o", out, "--model", model_path, "-q") == 1
    assert (out / "a.png").exists()
    assert "ghost.png" in capsys.readouterr().err


def test_hints_file_colors_the_output(tmp_path, model_path):
    gray = np.full((32, 32), 128, np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    hint = np.zeros((32, 32, 4), np.uint8)
    hint[:, :16] = [0, 0, 255, 255]
    Image.fromarray(hint, "RGBA").save(tmp_path / "hints.png")
    assert (
        run(tmp_path / "g.png", "-o", tmp_path / "o.png", "--model", model_path, "--hints", tmp_path / "hints.png") == 0
    )
    result = read_image(tmp_path / "o.png").pixels.astype(int)
    assert (result[:, :8, 2] - result[:, :8, 0]).mean() > 20, "blue where the hint is"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "nohint.png")
    assert (
        run(tmp_path / "g.png", "-o", tmp_path / "o2.png", "--model", model_path, "--hints", tmp_path / "nohint.png")
        == 1
    )


def test_palette_and_16_bit_inputs(tmp_path, gray_u8, model_path):
    Image.fromarray(np.dstack([gray_u8] * 3)).convert("P").save(tmp_path / "p.png")
    Image.fromarray(gray_u8.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    sixteen = np.dstack([gray_u8] * 3).astype(np.uint16) * 257
    write_image(tmp_path / "rgb16.tif", sixteen)
    out = tmp_path / "o"
    assert run(tmp_path, "-o", out, "--model", model_path, "-q") == 0
    assert read_image(out / "p.png").pixels.dtype == np.uint8
    assert (out / "g16.png").read_bytes()[24] == 16, "a 16-bit input gives a 16-bit PNG"
    result = read_image(out / "rgb16.tif").pixels
    assert result.dtype == np.uint16 and result.shape == sixteen.shape


def test_16_bit_png_writer_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(5, 7, 3), (4, 6, 4), (3, 3)]:
        pixels = rng.integers(0, 65536, shape, dtype=np.uint16)
        write_image(tmp_path / "x.png", pixels, overwrite=True)
        with Image.open(tmp_path / "x.png") as image:
            assert image.size == (shape[1], shape[0])
        if len(shape) == 2:
            np.testing.assert_array_equal(read_image(tmp_path / "x.png").pixels, pixels)


def test_unreadable_and_unknown_format(tmp_path, gray_u8):

    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(InputError, match="cannot read"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(InputError, match="unknown output format"):
        write_image(tmp_path / "x.xyz", gray_u8)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--saturation", "1e37", "0 to 10"), ("--render-size", "10", "32 to 8192"), ("--render-size", "100000", "32 to")],
)
def test_out_of_range_settings_are_refused_in_words(tmp_path, photos, model_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as stop:
        run(photos / "a.png", "-o", tmp_path / "o.png", "--model", model_path, flag, value)
    assert stop.value.code == cli.EXIT_USAGE and message in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_folder_given_as_hints_or_reference_is_named_as_a_folder(tmp_path, photos, model_path, capsys):
    for flag in ("--hints", "--reference"):
        assert run(photos / "a.png", "-o", tmp_path / "o.png", "--model", model_path, flag, photos) == 2
        assert f"{flag} {photos} is a folder" in capsys.readouterr().err


def test_the_uncertainty_map_never_replaces_a_reference(tmp_path, photos, model_path, capsys):
    reference = tmp_path / "ref.png"
    Image.fromarray(np.dstack([np.full((40, 56), v, np.uint8) for v in (200, 90, 40)])).save(reference)
    before = reference.read_bytes()
    code = run(
        photos / "a.png",
        "-o",
        tmp_path / "o.png",
        "--model",
        model_path,
        "--reference",
        reference,
        "--uncertainty-map",
        reference,
        "--overwrite",
    )
    assert code == 2 and reference.read_bytes() == before and "a reference" in capsys.readouterr().err


def test_ctrl_c_says_interrupted_not_an_empty_reason(tmp_path, photos, model_path, capsys, monkeypatch):

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "run_request", interrupted)
    assert run(photos / "a.png", "-o", tmp_path / "o.png", "--model", model_path) == cli.EXIT_INTERRUPTED
    assert "stopped (interrupted)" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_what_the_result_will_not_keep_is_noted(tmp_path, model_path, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / "colour.png")
    Image.fromarray(np.full((30, 40, 4), 128, np.uint8), "RGBA").save(tmp_path / "alpha.png")
    assert run(tmp_path / "colour.png", "-o", tmp_path / "c.png", "--model", model_path) == 0
    assert "has colours of its own" in capsys.readouterr().err
    assert run(tmp_path / "alpha.png", "-o", tmp_path / "a.jpg", "--model", model_path) == 0
    assert "alpha channel was dropped" in capsys.readouterr().err
    assert run(tmp_path / "alpha.png", "-o", tmp_path / "a.png", "--model", model_path) == 0
    assert "note" not in capsys.readouterr().err, "a gray photo with alpha into PNG loses nothing"


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


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_saturation_that_is_not_a_number_is_refused(tmp_path, value, capsys):
    with pytest.raises(SystemExit) as stop:
        run(save_gray(tmp_path / "a.png"), "-o", tmp_path / "o.png", "--saturation", value)
    assert stop.value.code == 2 and "give a number from 0 to 10" in capsys.readouterr().err


def test_threads_beyond_the_cores_are_capped_with_a_note(tmp_path, model_path, capsys):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--threads", "10000", "--model", model_path) == 0
    assert f"using {os.cpu_count() or 1}" in capsys.readouterr().err and (tmp_path / "o.png").is_file()
    threads = ColorizationModel(model_path, threads=10000).session.get_session_options().intra_op_num_threads
    assert threads <= (os.cpu_count() or 1), "the core clamps callers that bypass the CLI"


def test_a_batch_with_stderr_closed_still_writes_its_outputs(tmp_path, model_path):
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "b.png")
    command = (
        f"{sys.executable} -m gimp_plugin.cli {tmp_path / 'in'} -o {tmp_path / 'out'} --model {model_path} 2>&- >&-"
    )
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, timeout=120)
    assert done.returncode == 0
    assert (tmp_path / "out" / "a.png").is_file() and (tmp_path / "out" / "b.png").is_file()
