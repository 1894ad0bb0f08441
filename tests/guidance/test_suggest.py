"""The uncertainty map and suggested hint points (gimp_plugin.guidance: uncertainty, suggest), their CLI
options and the evaluation's simulated user."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gimp_plugin.cli import main as cli
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.render import prepare
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.guidance import suggest, uncertainty
from tests.onnx_models import save_model


@pytest.fixture
def scene() -> np.ndarray:
    """A 120 x 180 gray photo of a few regions of different lightness, with some texture."""
    rows, columns = np.mgrid[0:120, 0:180]
    photo = np.where(columns < 60, 60, np.where(rows < 50, 200, 120)).astype(np.float32)
    photo += 10 * np.sin(columns / 5.0) * (rows > 80)
    return np.clip(photo, 0, 255).astype(np.uint8)


def _pairwise_min(points) -> float:
    array = np.array(points, float)
    distances = np.hypot(*(array[:, None] - array[None]).transpose(2, 0, 1))
    return float(distances[~np.eye(len(array), dtype=bool)].min())


def test_suggestions_are_deterministic_spread_and_inside_the_photo(model, scene):
    first = suggest.suggest_hints(scene, model, 8)
    again = suggest.suggest_hints(scene, model, 8)
    assert first.points == again.points and (first.colors == again.colors).all()
    assert 1 <= len(first.points) <= 8 and first.colors.shape == (len(first.points), 3)
    assert all(0 <= r < 120 and 0 <= c < 180 for r, c in first.points)
    if len(first.points) > 1:
        assert _pairwise_min(first.points) >= 0.05 * 120, "spread, never side by side"


def test_suggestions_stay_inside_the_selection(model, scene):
    selection = np.zeros(scene.shape, np.uint8)
    selection[:, 100:] = 255
    points = suggest.suggest_hints(scene, model, 5, selection=selection).points
    assert points and all(c >= 100 for _, c in points)


def test_suggestions_and_dots_never_sit_on_transparent_pixels(model, scene):
    rgba = np.dstack([scene, scene, scene, np.where(np.arange(180) < 90, 255, 0).astype(np.uint8)[None].repeat(120, 0)])
    found = suggest.suggest_hints(rgba, model, 6)
    assert found.points and all(c < 90 for _, c in found.points)
    dots = suggest.dots_image(found, radius=12, where=rgba[..., 3] > 0)
    assert dots.shape == (120, 180, 4) and not (dots[:, 90:, 3] > 0).any()
    assert (dots[..., 3] > 0).sum() > 0


def test_given_hints_are_taken_into_account(model, scene):
    plain = suggest.suggest_hints(scene, model, 1).points[0]
    ab, mask = np.zeros((2, 120, 180), np.float32), np.zeros((120, 180), np.float32)
    mask[max(0, plain[0] - 2) : plain[0] + 3, max(0, plain[1] - 2) : plain[1] + 3] = 1
    hinted = suggest.suggest_hints(scene, model, 1, hints=Hints(ab=ab, mask=mask)).points[0]
    assert np.hypot(hinted[0] - plain[0], hinted[1] - plain[1]) > 10, "not where a hint already tells"


def test_the_dots_are_an_rgba_hint_image_of_the_photo_size(model, scene):
    found = suggest.suggest_hints(scene, model, 4)
    dots = suggest.dots_image(found, radius=3)
    for (row, column), rgb in zip(found.points, found.colors, strict=True):
        assert dots[row, column, 3] == 255 and (dots[row, column, :3] == rgb).all()
    assert (dots[..., 3] > 0).sum() <= len(found.points) * 37, "small separate dots (a 3-pixel disk: 37 pixels)"


def test_a_model_without_hint_inputs_says_it_cannot_suggest(tmp_path, scene):
    plain = ColorizationModel(save_model(tmp_path / "nohints.onnx", with_hints=False))
    with pytest.raises(InputError, match="no hint inputs"):
        suggest.suggest_hints(scene, plain, 3)
    with pytest.raises(InputError, match="1 to 200"):
        suggest.suggest_hints(scene, plain, 0)


def test_uncertainty_is_the_mirror_views_distance_turned_into_an_expected_error(model, scene):
    analysis = uncertainty.analyse(prepare(scene, model), model)
    assert analysis.uncertainty.shape == analysis.lightness.shape and analysis.ab.shape[0] == 2
    assert (analysis.uncertainty >= uncertainty.LOWEST_ERROR).all()
    more = uncertainty.expected_error(np.full((4, 4), 20.0), np.zeros((2, 4, 4)), np.full((4, 4), 50.0))
    less = uncertainty.expected_error(np.zeros((4, 4)), np.zeros((2, 4, 4)), np.full((4, 4), 50.0))
    assert (more > less).all(), "views that disagree mean a less certain color"
    picture = uncertainty.heat_map(analysis)
    assert picture.shape == (120, 180, 3) and picture.dtype == np.uint8


def test_the_cli_writes_dots_and_an_uncertainty_map_that_go_back_in_as_hints(tmp_path, model_path):
    rows, columns = np.mgrid[0:60, 0:90]
    Image.fromarray(((rows * 2 + columns) % 256).astype(np.uint8)).save(tmp_path / "photo.png")
    args = [tmp_path / "photo.png", "--suggest-hints", "5", "-o", tmp_path / "dots.png", "--model", model_path]
    assert cli.main([str(a) for a in [*args, "--uncertainty-map", tmp_path / "unsure.png", "-q"]]) == 0
    with Image.open(tmp_path / "dots.png") as dots, Image.open(tmp_path / "unsure.png") as unsure:
        assert dots.mode == "RGBA" and dots.size == (90, 60)
        legend = np.asarray(unsure)[60:]
        assert unsure.size[0] == 90 and unsure.size[1] > 60, "the map has a legend strip below the photo"
        assert legend[:, :4].mean() < legend[:, -4:].mean(), "dark (sure) on the left, bright (unsure) on the right"
        assert (np.asarray(dots)[..., 3] > 0).sum() > 0
    back = [tmp_path / "photo.png", "--hints", tmp_path / "dots.png", "-o", tmp_path / "out.png", "--model", model_path]
    assert cli.main([str(a) for a in back]) == 0 and (tmp_path / "out.png").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{tmp}/dots.jpg", "--suggest-hints", "3"], "transparent hint image"),
        (["{tmp}/photo.png", "-o", "{tmp}/out/", "--suggest-hints", "3"], "one input image"),
        (["-o", "{tmp}/out.png", "--uncertainty-map", "{tmp}/photo.png"], "is the input"),
    ],
)
def test_the_cli_refuses_suggestion_options_it_cannot_honour(tmp_path, model_path, capsys, extra, message):
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "photo.png")
    before = (tmp_path / "photo.png").read_bytes()
    argv = [str(tmp_path / "photo.png"), *(part.format(tmp=tmp_path) for part in extra), "--model", str(model_path)]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err and (tmp_path / "photo.png").read_bytes() == before


def test_the_evaluation_compares_random_suggested_and_oracle_points(tmp_path, model_path):
    pytest.importorskip("torch")
    from tests.tiny_runs import write_photos
    from training.measure import evaluate

    photos = write_photos(tmp_path / "photos", 2)
    argv = [
        "--model",
        str(model_path),
        "--data",
        str(photos),
        "--placement",
        "random",
        "suggested",
        "oracle",
        "--placement-counts",
        "1",
        "3",
        "--report",
        str(tmp_path / "report"),
    ]
    assert evaluate.main(argv) == 0
    import json

    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert set(report["placement_psnr"]) == {"random", "suggested", "oracle"}
    assert set(report["placement_psnr"]["oracle"]) == {"1", "3"}
    assert "suggested / random" in report["markdown"]


def test_the_worker_answers_suggestion_and_uncertainty_tasks(model_path):
    import io
    import json

    from gimp_plugin.worker import serve as worker

    pixels = np.tile(np.arange(90, dtype=np.uint8) * 2, (60, 1))

    def serve(**extra) -> tuple[dict, bytes]:
        header = {
            "protocol": 2,
            "width": 90,
            "height": 60,
            "channels": 1,
            "format": "u8",
            "model": str(model_path),
            **extra,
        }
        out = io.BytesIO()
        worker.serve(io.BytesIO(json.dumps(header).encode() + b"\n" + pixels.tobytes()), out)
        lines = out.getvalue().split(
            b"\n",
        )
        final = next(json.loads(line) for line in lines if b'"ok"' in line)
        return final, out.getvalue()[-final.get("nbytes", 0) :] if final.get("ok") else b""

    reply, data = serve(task="suggest-hints", count=4)
    assert reply["ok"] and reply["channels"] == 4
    dots = np.frombuffer(data, np.uint8).reshape(60, 90, 4)
    assert 0 < (dots[..., 3] > 0).sum() < 0.2 * 60 * 90
    reply, data = serve(task="uncertainty")
    assert reply["ok"] and reply["channels"] == 4
    assert serve(task="suggest-hints", count=0)[0]["error"].startswith("bad request header: count")
    assert "task" in serve(task="dream")[0]["error"]
    assert "protocol 2" in serve(task="uncertainty", protocol=1)[0]["error"]
    assert serve(protocol=1)[0]["ok"], "an old request still colorizes"
