"""The second bad-input round (issue 25): scanner TIFFs, multi-page files, and the inputs that still hurt. One test
(or a few) per item, numbered as in the issue; memory is measured in bench/bench_input_memory.py, not here."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from onnx import TensorProto, helper
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.cli import photo as files
from gimp_plugin.core import contract, limits
from gimp_plugin.core.errors import InputError, ModelError
from gimp_plugin.core.hints import hints_from_rgba, reduce_strips
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.images import writing as image_write
from gimp_plugin.images.hint_files import read_hints
from gimp_plugin.images.reading import read_image
from gimp_plugin.worker import serve as worker
from tests.onnx_models import TEST_INFO, build_model, save_model

ROOT = Path(__file__).resolve().parents[1]


def run(*args) -> int:
    return cli.main([str(a) for a in args])


def save_gray(path: Path, size=(24, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.tile(np.arange(size[0], dtype=np.uint8) * 9, (size[1], 1))).save(path)
    return path


@pytest.fixture
def colorized(monkeypatch) -> list[int]:
    """Counts the photos the CLI colorizes: problems found when the batch is planned must leave it at 0."""
    calls = []
    real = files.run_request

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "run_request", counting)
    return calls


# --- 1: the hint image is an input, never an output -------------------------------------------------------------------
def test_the_hint_image_is_never_written_over_even_with_overwrite(tmp_path, model_path, capsys, colorized):
    save_gray(tmp_path / "photo.png")
    hint = np.zeros((16, 24, 4), np.uint8)
    hint[4, 4] = [255, 0, 0, 255]
    Image.fromarray(hint, "RGBA").save(tmp_path / "h.png")
    painted = (tmp_path / "h.png").read_bytes()
    code = run(tmp_path / "photo.png", "--hints", tmp_path / "h.png", "-o", tmp_path / "h.png", "--overwrite",
               "--model", model_path)  # fmt: skip
    assert code == cli.EXIT_SOME_FAILED and not colorized
    assert (tmp_path / "h.png").read_bytes() == painted
    assert "never written over" in capsys.readouterr().err


# --- 2, 4, 18: multi-page TIFFs are read as their first page, never pages as channels --------------------------------
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


# --- 3: a mistyped --val-split is refused, never written --------------------------------------------------------------
def test_a_missing_val_split_file_is_refused_not_created(tmp_path, capsys):
    pytest.importorskip("torch")
    from tests.test_training import tiny
    from training.trainer.train import main as train_main

    typo = tmp_path / "typo.txt"
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2", "--val-split", str(typo))) == 1
    assert not typo.exists() and not (tmp_path / "run" / "last.pt").exists()
    assert "--val-split" in capsys.readouterr().err


# --- 5: the render size counts in the memory check --------------------------------------------------------------------
def test_a_render_size_that_would_not_fit_in_memory_is_refused(monkeypatch, model):
    photo = np.tile(np.arange(800, dtype=np.uint16) % 256, (600, 1)).astype(np.uint8)
    need = 800 * 600 * limits.NETWORK_BYTES_PER_RENDER_PIXEL
    monkeypatch.setattr(limits, "available_memory", lambda: need // 2)
    with pytest.raises(InputError, match="smaller render size"):
        colorize(photo, model, render_size=4000)
    assert colorize(photo, model).shape == (600, 800, 3), "the default render size still fits"


# --- 6: --threads is bounded by the cores ----------------------------------------------------------------------------
def test_threads_beyond_the_cores_are_capped_with_a_note(tmp_path, model_path, capsys):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--threads", "10000", "--model", model_path) == 0
    assert f"using {os.cpu_count() or 1}" in capsys.readouterr().err and (tmp_path / "o.png").is_file()
    threads = ColorizationModel(model_path, threads=10000).session.get_session_options().intra_op_num_threads
    assert threads <= (os.cpu_count() or 1), "the core clamps callers that bypass the CLI"


# --- 7: hints are reduced as they are read ---------------------------------------------------------------------------
def test_hints_read_in_strips_match_the_whole_image(tmp_path):
    rng = np.random.default_rng(3)
    hint = np.zeros((700, 300, 4), np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 697), rng.integers(0, 297)
        hint[y : y + 3, x : x + 3] = [*rng.integers(0, 256, 3), 255]
    Image.fromarray(hint, "RGBA").save(tmp_path / "hints.png")
    streamed, whole = read_hints(tmp_path / "hints.png", (70, 30)), hints_from_rgba(hint, (70, 30))
    np.testing.assert_allclose(streamed.mask, whole.mask, atol=1e-6)
    np.testing.assert_allclose(streamed.ab, whole.ab, atol=1e-3)


def test_strips_never_ask_for_more_than_a_strip(monkeypatch):
    from gimp_plugin.core import hints

    image = np.zeros((1000, 40, 4), np.uint8)
    asked = []

    def strip_at(top, bottom):
        asked.append(bottom - top)
        return image[top:bottom]

    reduce_strips(strip_at, 1000, 40, (10, 4))
    assert max(asked) <= hints.HINT_STRIP_ROWS and sum(asked) == 1000


# --- 8: scanner TIFF compressions -------------------------------------------------------------------------------------
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


# --- 9: colorize-eval skips a corrupt photo --------------------------------------------------------------------------
def test_eval_skips_a_corrupt_photo_with_a_word(tmp_path, model_path, capsys):
    pytest.importorskip("torch")
    from tests.test_training import write_photos
    from training.measure import evaluate

    photos = write_photos(tmp_path / "photos", 2)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert evaluate.main(["--model", str(model_path), "--data", str(photos)]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "broken.jpg" in captured.err and "| 2 | all |" in captured.out


# --- 10: colorize-export's output and render size ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{folder}", "--overwrite"], "is a folder"),
        (["-o", "{file}/x/m.onnx"], "is a file"),
        (["-o", "{folder}/m.onnx", "--render-size", "-5"], "whole number of pixels"),
        (["-o", "{folder}/m.onnx", "--render-size", "0"], "whole number of pixels"),
    ],
)
def test_export_refuses_bad_outputs_and_render_sizes_before_starting(tmp_path, capsys, extra, message):
    pytest.importorskip("torch")
    from training.onnx_io import export

    (tmp_path / "folder").mkdir()
    (tmp_path / "file.png").write_bytes(b"a photo")
    argv = [part.format(folder=tmp_path / "folder", file=tmp_path / "file.png") for part in extra]
    with pytest.raises(SystemExit) as stop:
        export.main([str(tmp_path / "no-run"), *argv])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.png", "folder"] and not any(
        (tmp_path / "folder").iterdir()
    ), "nothing partial is left"


# --- 11: colorize-train's settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--batch-size", "0"], "--batch-size 0"),
        (["--image-size", "0"], "--image-size 0"),
        (["--log-every", "0"], "--log-every 0"),
        (["--lr", "nan"], "--lr nan: give a number"),
        (["--max-steps", "0"], "--max-steps 0"),
    ],
)
def test_training_settings_no_run_can_use_are_refused(tmp_path, capsys, extra, message):
    pytest.importorskip("torch")
    from tests.test_training import tiny
    from training.trainer.train import main as train_main

    with pytest.raises(SystemExit) as stop:
        train_main(tiny(tmp_path, "--config", "baseline", *extra))
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_training_into_an_existing_file_is_refused(tmp_path, capsys):
    pytest.importorskip("torch")
    from tests.test_training import tiny
    from training.trainer.train import main as train_main

    (tmp_path / "notes.txt").write_text("keep me")
    argv = tiny(tmp_path, "--config", "baseline")
    argv[argv.index("--out") + 1] = str(tmp_path / "notes.txt")
    with pytest.raises(SystemExit):
        train_main(argv)
    assert "is a file" in capsys.readouterr().err and (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_resume_refuses_settings_it_cannot_change(tmp_path, capsys):
    pytest.importorskip("torch")
    from tests.test_training import tiny
    from training.trainer.train import main as train_main

    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 0
    capsys.readouterr()
    out = str(tmp_path / "run")
    assert train_main(["--out", out, "--resume", "--preset", "intermediate"]) == 1
    error = capsys.readouterr().err
    assert "--preset intermediate (this run has baseline)" in error and "--init-from" in error
    assert train_main(["--out", out, "--resume", "--max-steps", "3", "--preset", "baseline"]) == 0, "same is fine"


# --- 12: a batch with stderr (or stdout) closed -----------------------------------------------------------------------
def test_a_batch_with_stderr_closed_still_writes_its_outputs(tmp_path, model_path):
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "b.png")
    command = (f"{sys.executable} -m gimp_plugin.cli {tmp_path / 'in'} -o {tmp_path / 'out'} --model {model_path} "
               "2>&- >&-")  # fmt: skip
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, timeout=120)
    assert done.returncode == 0
    assert (tmp_path / "out" / "a.png").is_file() and (tmp_path / "out" / "b.png").is_file()


# --- 13: the worker's header fields are checked -----------------------------------------------------------------------
def _serve(header: dict, payload: bytes = b"") -> dict:
    out = io.BytesIO()
    worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n" + payload), out)
    return json.loads(out.getvalue().splitlines()[-1])


BASE = {"protocol": 1, "width": 4, "height": 3, "channels": 1, "format": "u8"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"render_size": "abc"}, "render_size 'abc'"),
        ({"render_size": 1e9}, "render_size"),
        ({"model": 5}, "model"),
        ({"model": ""}, "model"),
        ({"saturation": "high"}, "saturation"),
        ({"hints": {"width": 4, "height": 3, "format": "u8", "offset": [1]}}, "offset"),
        ({"hints": {"width": 4, "height": 3, "format": "u8", "offset": "0,0"}}, "offset"),
        ({"hints": "yes"}, "the hint layer: expected an object"),
        ({"selection": "x"}, "selection: expected an object"),
        ({"width": float("inf")}, "width inf"),
        ({"width": 2.5}, "width 2.5"),
        ({"width": True}, "width True"),
        ({"format": ["u8"]}, "format"),
    ],
)
def test_badly_typed_header_fields_get_a_message_not_an_internal_error(change, message):
    reply = _serve({**BASE, **change}, bytes(12))
    assert reply["ok"] is False and message in reply["error"] and "internal error" not in reply["error"]


def test_a_nan_selection_is_refused_not_painted_black(model_path):
    header = {**BASE, "model": str(model_path), "selection": {"format": "f32"}}
    reply = _serve(header, bytes(12) + np.full((3, 4), np.nan, np.float32).tobytes())
    assert reply["ok"] is False and "selection" in reply["error"] and "not numbers" in reply["error"]


# --- 14: training tools without the training stack --------------------------------------------------------------------
@pytest.mark.parametrize("command", ["colorize-train", "colorize-export", "colorize-eval"])
def test_training_tools_without_torch_say_what_to_install(monkeypatch, capsys, command):
    from training import launch

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails, as in a runtime-only install
    assert launch.launch(command, ["--help"]) == launch.EXIT_NOT_INSTALLED
    assert "./install.sh --dev" in capsys.readouterr().err


def test_the_training_entry_points_are_the_checking_launcher():
    text = (ROOT / "pyproject.toml").read_text()
    for command, function in (("train", "train"), ("export", "export"), ("eval", "evaluate")):
        assert f'colorize-{command} = "training.launch:{function}"' in text


# --- 15: an output folder that takes no files is found when the batch is planned --------------------------------------
def test_a_read_only_output_folder_is_found_before_any_photo_is_colorized(tmp_path, model_path, monkeypatch, capsys,
                                                                          colorized):  # fmt: skip
    save_gray(tmp_path / "in" / "a.png")
    save_gray(tmp_path / "in" / "b.png")
    real = image_write.tempfile.mkstemp

    def read_only(*args, **kwargs):
        if kwargs.get("prefix", "").startswith(".colorize-probe"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(image_write.tempfile, "mkstemp", read_only)
    assert run(tmp_path / "in", "-o", tmp_path / "out", "--model", model_path, "-q") == cli.EXIT_SOME_FAILED
    assert not colorized and "the disk is read-only" in capsys.readouterr().err


def test_a_full_disk_or_a_file_in_the_way_is_found_before_any_photo_is_colorized(tmp_path, model_path, monkeypatch,
                                                                                 capsys, colorized):  # fmt: skip
    save_gray(tmp_path / "in" / "a.png")
    (tmp_path / "taken").write_text("a file where the output folder should be")
    assert run(tmp_path / "in", "-o", tmp_path / "taken" / "out", "--model", model_path, "-q") == 1
    assert "a part of the folder path is a file" in capsys.readouterr().err
    monkeypatch.setattr(image_write.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    assert run(tmp_path / "in", "-o", tmp_path / "out", "--model", model_path, "-q") == 1
    assert "no space left" in capsys.readouterr().err and not colorized


# --- 16: long names ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [242, 250, 255])
def test_names_up_to_the_file_system_limit_are_written(tmp_path, length):
    name = "é" * ((length - 4) // 2) + "x" * ((length - 4) % 2) + ".png"  # two bytes a character: no half cut
    assert len(name.encode()) == length
    write_image = image_write.write_image
    write_image(tmp_path / name, np.zeros((4, 4, 3), np.uint8))
    assert (tmp_path / name).is_file() and [p.name for p in tmp_path.iterdir()] == [name]


# --- 17: confusing outputs --------------------------------------------------------------------------------------------
def test_the_same_file_given_twice_is_done_once(tmp_path, model_path, capsys):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", tmp_path / "photo.png", "-o", tmp_path / "out", "--model", model_path) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["photo.png"]
    assert "given more than once" in capsys.readouterr().err


def test_an_output_ending_in_a_slash_is_a_folder(tmp_path, model_path):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", f"{tmp_path / 'newdir'}/", "--model", model_path, "-q") == 0
    assert (tmp_path / "newdir" / "photo.png").is_file()


@pytest.mark.parametrize("output, message", [("out.xyz", "unknown output format '.xyz'"), ("out", "no file extension")])
def test_a_bad_output_extension_is_found_before_colorizing(tmp_path, model_path, capsys, colorized, output, message):
    save_gray(tmp_path / "photo.png")
    assert run(tmp_path / "photo.png", "-o", tmp_path / output, "--model", model_path) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err and not colorized and not (tmp_path / output).exists()


def test_a_folder_input_with_an_image_file_output_is_refused(tmp_path, model_path, capsys, colorized):
    save_gray(tmp_path / "scans" / "a.png")
    assert run(tmp_path / "scans", "-o", tmp_path / "out.png", "--model", model_path) == cli.EXIT_USAGE
    assert "give an output folder" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists() and not colorized


# --- 19: models that pass their declared shapes but cannot work -------------------------------------------------------
def _model_of(path: Path, nodes: list, channels="C") -> Path:
    """A hint-less model whose "ab" output is declared with ``channels`` channels and dynamic H, W."""
    import onnx

    graph = helper.make_graph(
        nodes,
        "broken",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", channels, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {**TEST_INFO.to_metadata(), "colorize.hints": "false"})
    onnx.save(model, str(path))
    return path


def test_models_that_cannot_work_are_refused_on_load(tmp_path):
    import onnx

    three = [helper.make_node("Concat", ["L", "L", "L"], ["ab"], axis=1)]
    with pytest.raises(ModelError, match="ab must have 2 channel"):
        ColorizationModel(_model_of(tmp_path / "three.onnx", three))
    # Shapes as the contract says, output garbage (square roots of negative L): refused on load by the test run.
    garbage = [
        helper.make_node("Neg", ["L"], ["negative"]),
        helper.make_node("Sqrt", ["negative"], ["root"]),
        helper.make_node("Concat", ["root", "root"], ["ab"], axis=1),
    ]
    with pytest.raises(ModelError, match="test run at 64 x 64 failed .*NaN"):
        ColorizationModel(_model_of(tmp_path / "nan.onnx", garbage, channels=2))
    fixed = build_model()
    for tensor in [*fixed.graph.input, *fixed.graph.output]:
        tensor.type.tensor_type.shape.dim[0].dim_value = 4
    onnx.save(fixed, str(tmp_path / "batch4.onnx"))
    with pytest.raises(ModelError, match="batch size"):
        ColorizationModel(tmp_path / "batch4.onnx")
    from dataclasses import replace

    huge = save_model(tmp_path / "huge.onnx", info=replace(TEST_INFO, default_render_size=100000))
    with pytest.raises(ModelError, match=f"above the contract's limit {contract.MAX_RENDER_SIZE}"):
        ColorizationModel(huge)
    with pytest.raises(ModelError, match="is a folder"):
        ColorizationModel(tmp_path)


def test_an_empty_model_path_is_refused_in_words(tmp_path, capsys):
    save_gray(tmp_path / "photo.png")
    with pytest.raises(SystemExit):
        run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--model", "")
    assert "--model: the path is empty" in capsys.readouterr().err
