"""Export (parity, metadata, refusal of broken files), evaluation metrics, and the shipped model."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.core import color
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.session import ColorizationModel, default_model_path
from training.measure import evaluate

ROOT = Path(__file__).resolve().parents[2]


# --- evaluation metrics ------------------------------------------------------------------------------------------
def test_psnr_of_identical_images_is_capped_and_of_a_known_error_is_exact():
    image = np.full((4, 4, 3), 100, np.uint8)
    assert evaluate.psnr(image, image) == evaluate.PSNR_CAP
    shifted = image + np.uint8(10)  # MSE = 100
    assert evaluate.psnr(shifted, image) == pytest.approx(10 * np.log10(255**2 / 100))


def test_colorfulness_of_gray_is_zero_and_of_a_known_image_matches_by_hand():
    assert evaluate.colorfulness(np.full((5, 5, 3), 77, np.uint8)) == 0
    pair = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)  # rg = (255, 0), yb = (127.5, -255)
    rg_std, yb_std = 127.5, 191.25
    rg_mean, yb_mean = 127.5, -63.75
    expected = np.hypot(rg_std, yb_std) + 0.3 * np.hypot(rg_mean, yb_mean)
    assert evaluate.colorfulness(pair) == pytest.approx(expected)


def test_auc_is_one_for_identical_images_and_a_half_for_half_wrong_pixels():
    image = np.array([[[200, 30, 30], [30, 200, 30]]], np.uint8)
    assert evaluate.ab_auc(image, image) == 1.0
    wrong = image.copy()
    wrong[0, 1] = [200, 30, 200]  # far from green in ab (> 150), same row otherwise identical
    lab_error = np.hypot(*(color.rgb_to_lab(wrong / 255.0)[0, 1, 1:] - color.rgb_to_lab(image / 255.0)[0, 1, 1:]))
    assert lab_error > 150
    assert evaluate.ab_auc(wrong, image) == pytest.approx(0.5)


def test_gray_conversion_keeps_lightness():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    gray = evaluate.to_gray(rgb)
    assert np.abs(color.gray_to_lightness(gray / 255.0) - color.rgb_to_lightness(rgb / 255.0)).max() < 0.5


def test_eval_report_with_hint_sweep(tmp_path, model_path):

    folder = tmp_path / "photos" / "set"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for index in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    argv = [
        "--model",
        str(model_path),
        "--data",
        str(tmp_path / "photos"),
        "--report",
        str(tmp_path / "report"),
        "--hints",
        "0",
        "5",
    ]
    assert evaluate.main(argv) == 0
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert report["overall"]["count"] == 3 and report["overall"]["gray_cf"] == 0
    assert set(report["hint_sweep_psnr"]) == {"0", "5"}
    assert report["hint_sweep_psnr"]["5"] > report["hint_sweep_psnr"]["0"], "the test model copies hints"
    assert (tmp_path / "report" / "contact_sheet.png").is_file()
    assert "| all |" in (tmp_path / "report" / "metrics.md").read_text()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--limit", "-3"),
        ("--render-size", "-5"),
        ("--max-side", "-1"),
        ("--hints", "-1"),
        ("--placement-counts", "-3"),
        ("--sheet-rows", "0"),
        ("--threads", "100000"),
        ("--saturation", "nan"),
    ],
)
def test_eval_refuses_bad_numbers_before_any_work(tmp_path, model_path, capsys, flag, value):
    with pytest.raises(SystemExit) as stop:
        evaluate.main(["--model", str(model_path), "--data", str(tmp_path), flag, value])
    assert stop.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


def test_gray_photos_have_no_share_of_the_truths_colourfulness(tmp_path, model_path, capsys):

    (tmp_path / "set").mkdir()
    for index in range(2):
        Image.fromarray(np.full((30, 40, 3), 60 + 40 * index, np.uint8)).save(tmp_path / "set" / f"{index}.png")
    assert evaluate.main(["--model", str(model_path), "--data", str(tmp_path)]) == 0
    assert "n/a (gray photos)" in capsys.readouterr().out


# --- export -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    pytest.importorskip("torch")
    from tests.tiny_runs import write_photos
    from training.onnx_io import export
    from training.trainer.train import main as train_main

    root = tmp_path_factory.mktemp("export")
    photos = write_photos(root / "photos", 6)
    argv = [
        "--data",
        str(photos),
        "--out",
        str(root / "run"),
        "--config",
        "fusion-effnet",
        "--no-pretrained",
        "--max-steps",
        "2",
        "--image-size",
        "64",
        "--batch-size",
        "2",
        "--cache-side",
        "64",
    ]
    assert train_main(argv) == 0
    output = root / "model.onnx"
    assert export.main([str(root / "run"), "-o", str(output), "--parity-photos", str(photos)]) == 0
    return output


def test_eval_errors_are_printed_under_its_own_name(tmp_path, model_path, capsys):
    missing = tmp_path / "nonexistent"
    assert evaluate.main(["--model", str(model_path), "--data", str(missing)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("colorize-eval: ") and str(missing) in error and "colorize-train" not in error


def test_export_matches_pytorch_and_follows_the_contract(exported):
    from training.onnx_io import export

    generator, _ = export.load_generator(exported.parent / "run")
    results = export.check_parity(generator, exported, 32)
    assert max(delta for _, delta in results) < export.PARITY_TOLERANCE
    model = ColorizationModel(exported)
    assert model.info.arch == "unet-fusion-effnet-lite0" and model.info.size_multiple == 32
    assert model.info.native_size == 64 and model.info.hints and model.accepts_hints
    names = {node.op_type for node in __import__("onnx").load(str(exported)).graph.node}
    assert "BatchNormalization" not in names, "batch norm is folded into the convolutions"
    assert model.has_features and model.info.feature_stride == 8, "contract 2: the features a reference needs"
    features = model.features(np.random.default_rng(2).uniform(0, 100, (1, 1, 64, 96)).astype(np.float32))
    assert features.shape == (40, 8, 12) and np.isfinite(features).all()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["baseline", "intermediate", "fusion-effnet", "fusion-effnet-bins", "fusion-irv2"])
def test_every_preset_exports_and_follows_the_contract(preset, tmp_path):
    pytest.importorskip("torch")
    import copy

    from training.networks.folding import fold_batch_norms
    from training.networks.generators import PRESETS, build_generator
    from training.onnx_io import export

    assert set(PRESETS) == {"baseline", "intermediate", "fusion-effnet", "fusion-effnet-bins", "fusion-irv2"}, "add it"
    reference = build_generator(preset, pretrained=False).eval()
    exported = fold_batch_norms(copy.deepcopy(reference))
    config = {"preset": preset, "data": ["photos"], "step": 0, "image_size": 64}
    info = export.model_info(config, exported, None, None)
    path = tmp_path / "model.onnx"
    _, partial = export.write_model(reference, exported, info, path, float16=True)
    assert partial.parent == path.parent and partial.name.startswith(".model.onnx.") and not path.exists()
    model = ColorizationModel(partial)
    assert model.info.arch == PRESETS[preset].arch and model.info.default_render_size == export.DEFAULT_RENDER_SIZE
    lightness = np.random.default_rng(1).uniform(0, 100, (1, 1, 64, 64)).astype(np.float32)
    assert model.predict(lightness).shape == (1, 2, 64, 64)
    assert model.has_features == preset.startswith("fusion"), "features where the network has them"


def test_chroma_gain_scales_the_exported_ab_and_is_recorded(exported, tmp_path):
    from training.onnx_io import export

    output = tmp_path / "gained.onnx"
    assert export.main([str(exported.parent / "run"), "-o", str(output), "--chroma-gain", "1.5"]) == 0
    plain, gained = ColorizationModel(exported), ColorizationModel(output)
    lightness = np.random.default_rng(3).uniform(0, 100, (1, 1, 64, 64)).astype(np.float32)
    expected = plain.predict(lightness) * 1.5
    assert np.abs(gained.predict(lightness) - expected).max() < 1e-3 * max(1.0, np.abs(expected).max())
    assert gained.info.trained_on.endswith("; chroma gain 1.5")


def test_an_exported_model_has_no_raw_weights_to_export(exported, tmp_path, capsys):
    from training.onnx_io import export

    assert export.main([str(exported), "-o", str(tmp_path / "raw.onnx"), "--weights", "raw"]) == 1
    assert "needs a training checkpoint" in capsys.readouterr().err and not (tmp_path / "raw.onnx").exists()


def test_a_failed_parity_check_deletes_the_file(exported, tmp_path, monkeypatch):
    from training.onnx_io import export

    monkeypatch.setattr(export, "PARITY_TOLERANCE", 0.0)
    output = tmp_path / "model.onnx"
    assert export.main([str(exported.parent / "run"), "-o", str(output)]) == 1
    assert not output.exists()


def test_export_never_writes_through_a_link_and_leaves_nothing_when_stopped(exported, tmp_path, monkeypatch, capsys):
    from training.onnx_io import export

    victim = tmp_path / "someone_elses.txt"
    victim.write_text("keep")
    (tmp_path / ".model.onnx.partial").symlink_to(victim)  # the name an older version wrote through
    assert export.main([str(exported.parent / "run"), "-o", str(tmp_path / "model.onnx")]) == 0
    assert victim.read_text() == "keep" and (tmp_path / "model.onnx").is_file()

    def stopped(*args, **kwargs):  # SIGTERM or Ctrl-C while the file is half written
        Path(args[2]).write_bytes(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "export_onnx", stopped)
    assert export.main([str(exported.parent / "run"), "-o", str(tmp_path / "other.onnx")]) == 130
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.onnx.partial", "model.onnx", "someone_elses.txt"]


def test_gains_and_temperatures_are_read_back_as_written():
    from training.onnx_io.export_notes import bins_temperature, chroma_gain

    assert chroma_gain("photos, 20 steps; chroma gain 5e-05; bins temperature 0.38") == 5e-05
    assert chroma_gain("photos; chroma gain 1.17") == 1.17 and chroma_gain("photos") == 1.0
    assert bins_temperature("photos; chroma gain 1.2; bins temperature 1e-01") == 0.1


def test_sigterm_unwinds_the_training_tools_like_ctrl_c():

    from training.common.errors import interrupt_on_sigterm

    previous = signal.getsignal(signal.SIGTERM)
    try:
        interrupt_on_sigterm()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- the shipped model ----------------------------------------------------------------------------------------------
def test_the_shipped_model_and_its_split_are_where_the_code_looks():
    from training.trainer.start import SHIPPED_VAL_SPLIT

    assert default_model_path() == ROOT / "gimp_plugin" / "models" / "colorize.onnx"
    assert default_model_path().is_file() and SHIPPED_VAL_SPLIT.is_file()


def test_shipped_model_loads_keeps_lightness_and_paints():

    model = ColorizationModel(default_model_path(), device="cpu")
    photo = np.asarray(Image.open(ROOT / "examples" / "astronaut_bw.jpg").convert("L"))
    for pixels in (photo[:64, :64], np.asarray(Image.fromarray(photo).resize((1000, 700)))):
        result = colorize(pixels, model)
        assert result.shape == pixels.shape + (3,)
        lightness = color.rgb_to_lightness(result / 255.0)
        assert np.abs(lightness - color.gray_to_lightness(pixels / 255.0)).max() < 0.6
    lab = color.rgb_to_lab(colorize(photo, model) / 255.0)
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 5, "the shipped model paints visible color"


def test_fine_tuning_the_shipped_model_starts_where_it_is(tmp_path):
    """--init-from shipped: one step at a tiny learning rate, exported again, paints like the shipped model."""
    pytest.importorskip("torch")

    from tests.tiny_runs import write_photos
    from training.onnx_io import export
    from training.onnx_io.export_notes import chroma_gain
    from training.trainer.train import main as train_main

    photos = write_photos(tmp_path / "photos", 6)
    argv = [
        "--data",
        str(photos),
        "--out",
        str(tmp_path / "run"),
        "--init-from",
        "shipped",
        "--max-steps",
        "1",
        "--lr",
        "1e-9",
        "--image-size",
        "64",
        "--batch-size",
        "2",
        "--cache-side",
        "64",
        "--val-count",
        "2",
    ]
    assert train_main(argv) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["init_from"] == "shipped"
    output = tmp_path / "again.onnx"
    gain = chroma_gain(ColorizationModel(default_model_path()).info.trained_on)  # the export gain, divided out
    assert export.main([str(tmp_path / "run"), "-o", str(output), "--chroma-gain", str(gain)]) == 0
    photo = np.asarray(Image.open(ROOT / "examples" / "astronaut_bw.jpg").convert("L").resize((160, 160)))
    lightness = color.gray_to_lightness(photo / 255.0).astype(np.float32)[None, None]
    shipped_ab = ColorizationModel(default_model_path()).predict(lightness)
    tuned_ab = ColorizationModel(output).predict(lightness)
    shipped_size = ColorizationModel(default_model_path()).info.default_render_size
    assert ColorizationModel(output).info.default_render_size == shipped_size, "the source's render size is kept"
    assert np.abs(shipped_ab).mean() > 3, "the comparison is between models that paint"
    # Even at lr 1e-9 the one step moves BatchNorm's running statistics (momentum 0.1) on two tiny photos: a mean
    # shift under 1 ab unit (a visible difference is about 2.3) is the same painting.
    assert np.abs(tuned_ab - shipped_ab).mean() < 1.0 and np.abs(tuned_ab - shipped_ab).max() < 5


def test_the_shipped_model_exports_again_with_its_gain_replaced_not_multiplied(tmp_path):
    """colorize-export shipped: the file's weights and temperature round-trip exactly; the gain given replaces the
    file's, and a file exported this way exports again the same way."""
    pytest.importorskip("torch")
    from training.onnx_io import export
    from training.onnx_io.export_notes import chroma_gain

    shipped_model = ColorizationModel(default_model_path())
    gain = chroma_gain(shipped_model.info.trained_on)
    same, gained, again = tmp_path / "same.onnx", tmp_path / "gained.onnx", tmp_path / "again.onnx"
    assert export.main(["shipped", "-o", str(same), "--chroma-gain", str(gain)]) == 0
    assert export.main(["shipped", "-o", str(gained), "--chroma-gain", "1.5"]) == 0
    assert export.main([str(gained), "-o", str(again), "--chroma-gain", "2"]) == 0
    lightness = np.random.default_rng(5).uniform(0, 100, (1, 1, 96, 128)).astype(np.float32)
    shipped_ab = shipped_model.predict(lightness)
    assert np.abs(ColorizationModel(same).predict(lightness) - shipped_ab).max() < 1e-3
    assert ColorizationModel(same).info.trained_on == shipped_model.info.trained_on
    twice = ColorizationModel(again)
    assert np.abs(twice.predict(lightness) - shipped_ab * 2 / gain).max() < 1e-3 * np.abs(shipped_ab).max()
    assert twice.info.trained_on.count("chroma gain") == 1 and "chroma gain 2;" in twice.info.trained_on
    assert twice.info.default_render_size == shipped_model.info.default_render_size and twice.has_features


def test_parity_photos_that_are_missing_broken_or_tiny_are_said_so(exported, tmp_path, capsys):

    from training.onnx_io import export

    run = str(exported.parent / "run")
    assert export.main([run, "-o", str(tmp_path / "a.onnx"), "--parity-photos", str(tmp_path / "none")]) == 1
    assert "--parity-photos" in capsys.readouterr().err and not (tmp_path / "a.onnx").exists()
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "0_broken.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(photos / "1_tiny.png")
    assert export.main([run, "-o", str(tmp_path / "b.onnx"), "--parity-photos", str(photos)]) == 1
    error = capsys.readouterr().err
    assert "passed over" in error and "no readable photo" in error and "cannot write" not in error
    Image.fromarray(np.full((80, 90, 3), 100, np.uint8)).save(photos / "2_good.png")
    assert export.main([run, "-o", str(tmp_path / "c.onnx"), "--parity-photos", str(photos)]) == 0


def test_export_refuses_to_replace_a_model_unless_asked(tmp_path, capsys):
    pytest.importorskip("torch")
    from tests.tiny_runs import tiny
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
