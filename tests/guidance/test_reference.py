"""Colors from a reference photo (gimp_plugin.guidance.reference): matching, the CLI's --reference, the worker,
contract 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.core import color
from gimp_plugin.core.errors import InputError, ModelError
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.render import prepare
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.guidance import reference
from gimp_plugin.worker import serve as worker
from tests.onnx_models import TEST_INFO, build_model, save_model

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "gimp_plugin" / "models" / "colorize.onnx"


def gray_of(rgb: np.ndarray) -> np.ndarray:
    lightness = color.rgb_to_lightness(rgb.astype(np.float32) / 255)
    return np.round(color.linear_to_srgb(color.lightness_to_luminance(lightness)) * 255).astype(np.uint8)


def ab_error(result: np.ndarray, truth: np.ndarray) -> float:
    lab_result, lab_truth = (color.rgb_to_lab(x[..., :3].astype(np.float32) / 255) for x in (result, truth))
    return float(np.hypot(*(lab_result[..., 1:] - lab_truth[..., 1:]).transpose(2, 0, 1)).mean())


@pytest.fixture(scope="module")
def shipped() -> ColorizationModel:
    model = ColorizationModel(SHIPPED, threads=2)
    assert model.has_features, "the shipped model follows contract 2 and can take a reference"
    return model


def test_a_reference_that_is_the_photo_itself_gives_nearly_its_true_colors(shipped):
    data = pytest.importorskip("skimage.data")
    truth = data.astronaut()
    gray = gray_of(truth)
    automatic = colorize(gray, shipped)
    lightness = prepare(gray, shipped).lightness
    carried, share = reference.match(shipped, lightness, [reference.prepare_reference(truth, shipped)])
    assert carried is not None and share > 0.2, "most of the photo matches itself"
    with_reference = colorize(gray, shipped, hints=carried)
    assert ab_error(with_reference, truth) < 0.7 * ab_error(automatic, truth)


def test_an_unrelated_reference_changes_little(shipped):
    data = pytest.importorskip("skimage.data")
    truth = data.astronaut()
    gray = gray_of(truth)
    lightness = prepare(gray, shipped).lightness
    carried, share = reference.match(shipped, lightness, [reference.prepare_reference(data.coffee(), shipped)])
    automatic = colorize(gray, shipped)
    result = automatic if carried is None else colorize(gray, shipped, hints=carried)
    assert np.abs(result.astype(int) - automatic).mean() < 1.0, "a coffee cup lends an astronaut no colors"


def test_bad_references_get_a_clear_error(model_path, tmp_path):
    model = ColorizationModel(save_model(tmp_path / "features.onnx", features=True))
    with pytest.raises(InputError, match="too small to match"):
        reference.prepare_reference(np.zeros((1, 1, 3), np.uint8), model)
    with pytest.raises(InputError, match="black-and-white"):
        reference.prepare_reference(np.full((64, 64, 3), 128, np.uint8), model)
    with pytest.raises(ModelError, match="cannot take a reference photo"):
        reference.prepare_reference(np.zeros((64, 64, 3), np.uint8), ColorizationModel(model_path))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"not an image"), "cannot read"),
        (lambda p: Image.fromarray(np.full((40, 40), 90, np.uint8)).save(p), "black-and-white"),
        (lambda p: Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(p), "too small"),
    ],
)
def test_the_cli_refuses_a_bad_reference_before_writing_anything(tmp_path, capsys, make, message):
    model = save_model(tmp_path / "features.onnx", features=True)
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))).save(tmp_path / "photo.png")
    make(tmp_path / "ref.png")
    argv = [
        str(tmp_path / "photo.png"),
        "-o",
        str(tmp_path / "out.png"),
        "--reference",
        str(tmp_path / "ref.png"),
        "--model",
        str(model),
    ]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err and not (tmp_path / "out.png").exists()


def test_the_cli_says_when_a_model_cannot_take_a_reference(tmp_path, model_path, capsys):
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))).save(tmp_path / "photo.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "ref.png")
    argv = [
        str(tmp_path / "photo.png"),
        "-o",
        str(tmp_path / "out.png"),
        "--reference",
        str(tmp_path / "ref.png"),
        "--model",
        str(model_path),
    ]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "cannot take a reference photo" in capsys.readouterr().err and not (tmp_path / "out.png").exists()


def test_the_cli_carries_a_matching_reference_and_never_writes_over_it(tmp_path):
    model = save_model(tmp_path / "features.onnx", features=True)
    rows, columns = np.mgrid[0:96, 0:128]
    truth = np.stack([(columns * 2) % 256, (rows * 2) % 256, ((rows + columns) * 3) % 256], -1).astype(np.uint8)
    Image.fromarray(gray_of(truth)).save(tmp_path / "photo.png")
    Image.fromarray(truth).save(tmp_path / "ref.png")
    kept = (tmp_path / "ref.png").read_bytes()
    argv = [
        str(tmp_path / "photo.png"),
        "-o",
        str(tmp_path / "ref.png"),
        "--reference",
        str(tmp_path / "ref.png"),
        "--model",
        str(model),
        "--overwrite",
    ]
    assert cli.main(argv) == cli.EXIT_SOME_FAILED and (tmp_path / "ref.png").read_bytes() == kept
    argv[2] = str(tmp_path / "out.png")
    assert cli.main(argv) == 0 and (tmp_path / "out.png").is_file()


def test_the_users_own_hints_win_where_both_exist():
    size = (8, 8)
    carried = Hints(ab=np.full((2, *size), 40.0, np.float32), mask=np.ones(size, np.float32))
    user_ab, user_mask = np.zeros((2, *size), np.float32), np.zeros(size, np.float32)
    user_ab[:, 2, 3], user_mask[2, 3] = -30.0, 1.0
    merged = reference.merge(Hints(ab=user_ab, mask=user_mask), carried, size)
    assert merged.ab[0, 2, 3] == -30.0 and merged.ab[0, 0, 0] == 40.0 and merged.mask.min() == 1.0
    assert reference.merge(None, None, size) is None


def test_the_worker_takes_a_reference_in_protocol_2_only(tmp_path):
    model = save_model(tmp_path / "features.onnx", features=True)
    pixels = np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))
    ref = np.random.default_rng(0).integers(0, 255, (48, 64, 4), dtype=np.uint8)

    def serve(protocol: int) -> dict:
        header = {
            "protocol": protocol,
            "width": 64,
            "height": 48,
            "channels": 1,
            "format": "u8",
            "model": str(model),
            "reference": {"width": 64, "height": 48, "channels": 4, "format": "u8"},
        }
        out = io.BytesIO()
        worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n" + pixels.tobytes() + ref.tobytes()), out)
        return next(json.loads(line) for line in out.getvalue().split(b"\n") if b'"ok"' in line)

    assert serve(2)["ok"]
    assert "reference (protocol 2" in serve(1)["error"]


def test_a_preview_prepares_its_reference_once(tmp_path, monkeypatch):
    from gimp_plugin.worker import jobs

    model = ColorizationModel(save_model(tmp_path / "features.onnx", features=True))
    ref = np.random.default_rng(0).integers(0, 255, (48, 64, 4), dtype=np.uint8)
    prepared = []
    monkeypatch.setattr(reference, "prepare_reference", lambda *args: prepared.append(args) or "cells")
    assert jobs.prepared_reference(ref, model, None) == jobs.prepared_reference(ref.copy(), model, None) == "cells"
    assert len(prepared) == 1  # the same pixels, model and size: once
    ref[0, 0, 0] ^= 1
    jobs.prepared_reference(ref, model, None)
    jobs.prepared_reference(ref, model, 96)
    assert len(prepared) == 3  # other pixels, another render size: again


def test_contract_2_features_come_with_their_stride(tmp_path):
    import onnx

    without_stride = build_model(features=True, metadata={**TEST_INFO.to_metadata(), "colorize.contract": "2"})
    onnx.save(without_stride, str(tmp_path / "a.onnx"))
    with pytest.raises(ModelError, match="come together"):
        ColorizationModel(tmp_path / "a.onnx")
    assert not ColorizationModel(save_model(tmp_path / "v1.onnx")).has_features, "contract 1 files still load"


def test_the_evaluation_measures_the_three_reference_cases(tmp_path):
    pytest.importorskip("torch")
    from tests.tiny_runs import write_photos
    from training.measure import evaluate

    write_photos(tmp_path / "photos" / "a", 2)
    write_photos(tmp_path / "photos" / "b", 2, start=5)
    model = save_model(tmp_path / "features.onnx", features=True)
    argv = [
        "--model",
        str(model),
        "--data",
        str(tmp_path / "photos"),
        "--reference-cases",
        "same",
        "kind",
        "unrelated",
        "--report",
        str(tmp_path / "report"),
    ]
    assert evaluate.main(argv) == 0
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert set(report["reference_cases"]) == {"same", "kind", "unrelated"}
    assert "| same |" in report["markdown"] and report["reference_cases"]["same"]["count"] == 4


def test_the_framing_maps_photo_cells_onto_the_view_they_came_from():
    views = np.concatenate([np.stack([np.full(12, v), *np.mgrid[0:3, 0:4].reshape(2, -1)], 1) for v in (0, 1)])
    mapped = reference._through_framing((1, 1.0, np.array([1.0, -1.0])), views, rows=2, columns=3)
    # photo cell (r, c) -> view 1 cell (r + 1, c - 1); view 1's cells start at index 12
    expected = [-1, 12 + 4, 12 + 5, -1, 12 + 8, 12 + 9]
    assert mapped.tolist() == expected
