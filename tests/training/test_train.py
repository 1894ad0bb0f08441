"""Training (training/trainer/train.py) on CPU at tiny sizes, on synthetic photos the tests make."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from gimp_plugin.core import color  # noqa: E402
from tests.tiny_runs import one_batch, tiny, tiny_trainer, train_on_two_ranks, write_photos  # noqa: E402
from training.common.errors import TrainingError  # noqa: E402
from training.data import lab  # noqa: E402
from training.data import photos as data  # noqa: E402
from training.runs.checkpoint import load  # noqa: E402
from training.trainer.train import CALIBRATION_SKIP, CALIBRATION_STEPS, SAFETY_STOP, Config, Trainer  # noqa: E402
from training.trainer.train import main as train_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def logged(run: Path, name: str) -> list[float]:
    with open(run / "log.csv") as handle:
        return [float(row["value"]) for row in csv.DictReader(handle) if row["name"] == name]


def test_torch_lab_matches_the_runtime():
    rng = np.random.default_rng(0)
    rgb = rng.random((2, 16, 16, 3)).astype(np.float32)
    expected = color.rgb_to_lab(rgb)
    actual = lab.rgb_to_lab(torch.from_numpy(rgb).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.abs(actual - expected).max() < 1e-3
    back = lab.lab_to_rgb(torch.from_numpy(expected).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.abs(back - rgb).max() < 1e-4


def test_baseline_overfits_one_image(tmp_path):
    photos = write_photos(tmp_path / "one", 1)
    argv = tiny(
        tmp_path,
        "--config",
        "baseline",
        "--max-steps",
        "300",
        "--lr",
        "3e-3",
        "--hint-probability",
        "0",
        "--colorfulness-weight",
        "0",
        photos=photos,
    )
    assert train_main(argv) == 0
    l1 = logged(tmp_path / "run", "l1")
    assert l1[-1] < 0.25 * l1[0], f"l1 fell only from {l1[0]:.3f} to {l1[-1]:.3f}"
    assert l1[-1] * 110 < 4.0, "mean ab error below 4 Lab units"


@pytest.mark.slow
def test_intermediate_loss_falls(tmp_path):
    assert train_main(tiny(tmp_path, "--config", "intermediate", "--max-steps", "40", "--lr", "2e-3")) == 0
    l1 = logged(tmp_path / "run", "l1")
    assert np.mean(l1[-2:]) < np.mean(l1[:2])


def tiny_gan_trainer(tmp_path, max_steps: int, critic_steps: int, gan_steps: int) -> Trainer:
    return tiny_trainer(
        tmp_path,
        preset="baseline",
        image_size=32,
        cache_side=48,
        max_steps=max_steps,
        gan=True,
        critic_steps=critic_steps,
        gan_steps=gan_steps,
    )


def test_one_gan_step_updates_both_networks(tmp_path):
    trainer = tiny_gan_trainer(tmp_path, max_steps=3, critic_steps=1, gan_steps=1)
    batch = one_batch(trainer)
    assert trainer.train_step(batch)["loss"] > 0 and trainer.phase() == "critic"
    generator_before = [p.detach().clone() for p in trainer.generator.parameters()]
    critic = trainer.train_step(batch)
    assert "critic" in critic and "loss" not in critic and trainer.phase() == "gan"
    critic_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    values = trainer.train_step(batch)
    assert "adversarial" in values and "critic" in values
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, trainer.generator.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, trainer.discriminator.parameters(), strict=True))


def test_the_adversarial_term_leaves_the_critics_weights_out_of_its_gradients(tmp_path):
    trainer = tiny_gan_trainer(tmp_path, max_steps=2, critic_steps=0, gan_steps=2)
    batch = one_batch(trainer)
    backward_passes = []
    first_weight = next(trainer.discriminator.parameters())
    first_weight.register_hook(lambda grad: backward_passes.append(grad.abs().sum().item()))
    values = trainer.train_step(batch)
    assert trainer.phase() == "gan" and values["adversarial"] != 0
    assert len(backward_passes) == 1, "the critic's weights get gradients from its own step only"
    assert all(p.requires_grad for p in trainer.discriminator.parameters())


def test_a_killed_and_resumed_run_matches_an_unbroken_one(tmp_path):
    photos = write_photos(tmp_path / "photos", 8)
    common = (
        "--config",
        "baseline",
        "--max-steps",
        "8",
        "--checkpoint-every",
        "100",
        "--gan",
        "--critic-steps",
        "2",
        "--gan-steps",
        "2",
    )
    assert train_main(tiny(tmp_path, *common, photos=photos, out="unbroken")) == 0
    assert train_main(tiny(tmp_path, *common, "--stop-at-step", "5", photos=photos, out="broken")) == 0
    assert load(tmp_path / "broken" / "last.pt")["step"] == 5
    assert train_main(tiny(tmp_path, "--resume", photos=photos, out="broken")) == 0
    unbroken, resumed = load(tmp_path / "unbroken" / "last.pt"), load(tmp_path / "broken" / "last.pt")
    assert resumed["step"] == unbroken["step"] == 8
    for part in ("generator", "ema", "discriminator"):
        for key, value in unbroken[part].items():
            torch.testing.assert_close(resumed[part][key], value, rtol=0, atol=1e-6, msg=f"{part}.{key}")


def test_a_resume_may_change_hint_density_even_back_to_its_default(tmp_path):
    photos = write_photos(tmp_path / "photos", 4)
    first = ("--config", "baseline", "--max-steps", "2", "--hint-probability", "0.9")
    assert train_main(tiny(tmp_path, *first, photos=photos)) == 0
    default = Config().hint_probability
    assert (
        train_main(tiny(tmp_path, "--resume", "--max-steps", "3", "--hint-probability", str(default), photos=photos))
        == 0
    )
    state = load(tmp_path / "run" / "last.pt")
    assert state["step"] == 3 and state["config"]["hint_probability"] == default


def test_a_time_limit_fits_the_run_length_to_the_measured_speed(tmp_path, monkeypatch):
    """The planning is tested on a clock that advances 0.1 s a step: a busy machine's real clock made it flaky."""
    clock = {"now": 0.0}
    real_step = Trainer.train_step

    def timed_step(self, batch):
        clock["now"] += 0.1
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", timed_step)
    monkeypatch.setattr(Trainer, "clock", staticmethod(lambda: clock["now"]))
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "100000", "--time-limit", "8")) == 0
    state = load(tmp_path / "run" / "last.pt")
    steps = CALIBRATION_SKIP + CALIBRATION_STEPS
    assert state["step"] == state["config"]["max_steps"] > steps  # it ran past the calibration, to its plan
    assert state["config"]["time_limit"] is None  # a resumed run keeps the fitted length
    # 8 s at 10 steps/s, of which TIME_LIMIT_SHARE is planned: about 76 steps, never past the safety stop.
    assert 70 <= state["step"] <= 8 * SAFETY_STOP * 10


def test_a_time_limit_plans_the_generator_phase_and_leaves_the_later_phases_in_place(tmp_path):
    trainer = tiny_gan_trainer(tmp_path, max_steps=8, critic_steps=3, gan_steps=5)
    trainer.step = 2  # a NoGAN fine-tune: no generator phase, in the critic's warm-up
    trainer.fit_to_time_limit(steps_per_s=0.1, seconds_left=10)
    assert (trainer.pretrain_steps, trainer.total_steps, trainer.phase()) == (0, 8, "critic")
    trainer.pretrain_steps, trainer.step = 50, 10  # in a generator phase the limit sizes that phase
    trainer.fit_to_time_limit(steps_per_s=10, seconds_left=2)
    assert (trainer.pretrain_steps, trainer.total_steps, trainer.phase()) == (21, 29, "generator")


def test_an_existing_run_is_not_overwritten(tmp_path, capsys):
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 0
    capsys.readouterr()  # the first run's own progress output
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 1
    error = capsys.readouterr().err
    assert error.startswith("colorize-train: ") and "--resume" in error


def test_resuming_a_missing_run_says_so(tmp_path, capsys):
    assert train_main(["--out", str(tmp_path / "nothing"), "--resume"]) == 1
    assert "holds no run to continue" in capsys.readouterr().err


def test_checkpoints_hold_plain_tensors_only(tmp_path):
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 0
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)  # would raise on pickled objects
    assert state["config"]["preset"] == "baseline" and (tmp_path / "run" / "config.json").is_file()
    assert (tmp_path / "run" / "val_split.txt").is_file() and (tmp_path / "run" / "loss_curves.png").is_file()


@pytest.mark.slow
def test_two_process_torchrun_with_gloo_and_a_shared_time_limit(tmp_path):
    argv = tiny(tmp_path, "--config", "baseline", "--max-steps", "100000", "--time-limit", "5", "--device", "cpu")
    result = train_on_two_ranks(argv, 29517)
    assert result.returncode == 0, result.stderr[-2000:]
    state = load(tmp_path / "run" / "last.pt")
    assert state["step"] == state["config"]["max_steps"] > CALIBRATION_SKIP + CALIBRATION_STEPS  # both ranks agreed
    from training.networks.generators import build_generator

    build_generator("baseline").load_state_dict(state["ema"])


def test_unreadable_and_gray_files_are_skipped_and_counted(tmp_path):

    folder = write_photos(tmp_path / "mixed", 3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    Image.fromarray(np.full((40, 40), 120, np.uint8)).convert("RGB").save(folder / "gray.png")
    report = data.scan([folder], progress=False)
    assert len(report.photos) == 3 and report.unreadable == ["broken.jpg"] and report.gray == ["gray.png"]


def test_data_without_usable_photos_stops_with_a_clear_message(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("no photos here")
    with pytest.raises(TrainingError, match="no usable color photos"):
        data.scan([folder], progress=False)


def test_validation_split_is_fixed_and_spread_over_folders(tmp_path):
    write_photos(tmp_path / "pool" / "a", 20)
    write_photos(tmp_path / "pool" / "b", 10, start=50)
    photos = data.scan([tmp_path / "pool"], progress=False).photos
    split_file = tmp_path / "split.txt"
    train, validation = data.split(photos, split_file, 6)
    assert {p.group for p in validation} == {"a", "b"} and len(validation) == 6 and len(train) == 24
    again_train, again_validation = data.split(list(reversed(photos)), split_file, 99)
    assert {p.key for p in again_validation} == {p.key for p in validation}


def test_folder_weights_balance_large_folders():
    photos = [data.Photo(Path(f"{g}{i}"), f"{g}{i}", g) for g, n in (("big", 100), ("small", 1)) for i in range(n)]
    weights = data.folder_weights(photos, power=0.5)
    big, small = weights[:100].sum().item(), weights[100:].sum().item()
    assert big / small == pytest.approx(10.0)


def test_hints_are_drawn_from_the_truth():
    ab = torch.randn(4, 2, 16, 16) * 30
    hint_ab, mask = data.draw_hints(ab, torch.Generator().manual_seed(0), probability=1.0, max_points=5)
    assert (mask.sum(dim=(1, 2, 3)) > 0).all()
    assert torch.all(hint_ab[mask.expand_as(hint_ab) == 0] == 0)
    none_ab, none_mask = data.draw_hints(ab, torch.Generator().manual_seed(0), probability=0.0)
    assert none_mask.sum() == 0 and none_ab.abs().sum() == 0


def test_a_hint_patch_holds_the_mean_true_color_of_its_pixels():
    ab = torch.randn(3, 2, 40, 40) * 30
    hint_ab, mask = data.draw_hints(ab, torch.Generator().manual_seed(3), probability=1.0, max_points=1)
    for sample in range(3):  # one patch per sample: a square of 1..5 px
        rows, columns = torch.nonzero(mask[sample, 0], as_tuple=True)
        top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
        assert len(rows) == (bottom - top) * (right - left) and bottom - top == right - left <= data.MAX_HINT_PATCH
        expected = ab[sample, :, top:bottom, left:right].mean(dim=(1, 2))
        torch.testing.assert_close(hint_ab[sample, :, rows, columns], expected[:, None].expand(2, len(rows)))


def test_dense_dots_are_a_references_cells_in_their_mean_true_color():
    from gimp_plugin.guidance import reference

    assert (data.DENSE_CELL, data.DENSE_DOT) == (8, reference.DOT)  # what the runtime's matched cells give
    ab = torch.randn(3, 2, 64, 48) * 30
    chosen = torch.tensor([True, True, False])
    hint_ab, mask = data.dense_dots(ab, chosen, torch.Generator().manual_seed(1))
    assert mask[2].sum() == 0 and hint_ab[2].abs().sum() == 0  # not chosen: nothing
    for sample in range(2):
        rows, columns = torch.nonzero(mask[sample, 0], as_tuple=True)
        assert len(rows) >= 9 and len(rows) % 9 == 0  # whole 3 x 3 dots
        assert set((rows % 8).tolist()) == {3, 4, 5} and set((columns % 8).tolist()) == {3, 4, 5}  # cell centres
        for row, column in zip(rows[::9].tolist(), columns[::9].tolist(), strict=True):
            top, left = row // 8 * 8, column // 8 * 8
            expected = ab[sample, :, top : top + 8, left : left + 8].mean(dim=(1, 2))
            torch.testing.assert_close(hint_ab[sample, :, row, column], expected)


def test_a_dense_share_adds_dense_dots_to_hinted_samples_only():
    ab = torch.randn(64, 2, 32, 32) * 30
    sparse_ab, sparse_mask = data.draw_hints(ab, torch.Generator().manual_seed(5), probability=0.5, max_points=5)
    both_ab, both_mask = data.draw_hints(
        ab, torch.Generator().manual_seed(5), probability=0.5, max_points=5, dense_share=1.0
    )
    hinted = sparse_mask.sum(dim=(1, 2, 3)) > 0
    assert (both_mask[~hinted].sum(dim=(1, 2, 3)) == 0).all()  # the unhinted samples stay unhinted
    assert (both_mask[hinted] >= sparse_mask[hinted]).all()  # the user-like dots are kept
    assert both_mask[hinted].sum() > sparse_mask[hinted].sum()


def test_euclidean_chroma_loss_is_the_mean_ab_distance(tmp_path):
    from training.networks import losses

    predicted = torch.zeros(1, 2, 1, 2)
    truth = torch.tensor([[3.0, 0.0], [4.0, 0.0]]).reshape(1, 2, 1, 2)  # distances 5 and 0
    expected = (5.0 + 0.01) / 2 / losses.AB_SCALE
    assert losses.chroma_euclidean(predicted, truth).item() == pytest.approx(expected, rel=1e-4)
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "5", "--chroma-loss", "euclidean")) == 0
    assert logged(tmp_path / "run", "euclidean") and not logged(tmp_path / "run", "l1")
    with pytest.raises(SystemExit):
        train_main(tiny(tmp_path, "--chroma-loss", "l2", out="other"))


def test_aligned_colorfulness_term_credits_only_the_true_hue(tmp_path):
    from training.networks import losses

    truth = torch.zeros(1, 2, 4, 4)
    truth[:, 0] = 30.0  # a uniformly red-ish patch
    right_hue, gray, other_hue, opposite = truth.clone(), torch.zeros_like(truth), truth.flip(1), -truth
    shortfall = {
        form: {
            name: term(guess, truth).item() * losses.AB_SCALE
            for name, guess in [("right", right_hue), ("gray", gray), ("other", other_hue), ("opposite", opposite)]
        }
        for form, term in losses.SHORTFALL_TERMS.items()
    }
    # The magnitude form is satisfied by any hue of the right strength; the aligned one only by the right hue.
    assert shortfall["magnitude"] == pytest.approx({"right": 0, "gray": 30, "other": 0, "opposite": 0}, abs=1e-3)
    assert shortfall["aligned"] == pytest.approx({"right": 0, "gray": 30, "other": 30, "opposite": 60}, abs=1e-2)
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "5", "--colorfulness-form", "aligned")) == 0
    assert logged(tmp_path / "run", "colorfulness")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["colorfulness_form"] == "aligned"


def test_perceptual_term_runs_on_the_frozen_classifier(tmp_path):
    trainer = tiny_trainer(tmp_path, preset="fusion-effnet", perceptual_weight=0.1)
    batch = one_batch(trainer)
    values = trainer.train_step(batch)
    assert values["perceptual"] > 0
    assert all(not p.requires_grad for p in trainer.generator.classifier.parameters()), "the classifier stays frozen"


@pytest.mark.slow
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_runs_and_checkpoints(tmp_path, amp):
    assert (
        train_main(
            tiny(
                tmp_path,
                "--config",
                "baseline",
                "--max-steps",
                "3",
                "--gan",
                "--critic-steps",
                "1",
                "--gan-steps",
                "1",
                "--amp",
                amp,
            )
        )
        == 0
    )
    state = load(tmp_path / "run" / "last.pt")
    assert state["step"] == 3 and ("scale" in state["scaler_g"]) == (amp == "fp16")
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())


def test_init_from_starts_a_new_run_from_another_runs_weights(tmp_path):
    photos = write_photos(tmp_path / "photos", 6)
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "3", photos=photos, out="first")) == 0
    source = load(tmp_path / "first" / "last.pt")["ema"]
    config = Config(
        data=[str(photos)],
        preset="baseline",
        image_size=32,
        batch_size=2,
        max_steps=2,
        pretrained=False,
        cache_side=48,
        init_from=str(tmp_path / "first"),
    )
    trainer = Trainer(config, tmp_path / "second", 0, 1, torch.device("cpu"))
    for key, value in trainer.generator.state_dict().items():
        torch.testing.assert_close(value, source[key], msg=key)
    held_out = (tmp_path / "first" / "val_split.txt").read_text()
    assert (tmp_path / "second" / "val_split.txt").read_text() == held_out, "a fine-tune keeps its source's split"
    assert {photo.key for photo in trainer.val_photos} == set(held_out.split())
    with pytest.raises(TrainingError, match="holds a baseline model"):
        Trainer(Config(**{**config.__dict__, "preset": "intermediate"}), tmp_path / "third", 0, 1, torch.device("cpu"))


def test_every_flag_explains_itself():
    from training.runs import config

    parser = config._parser(config.Config())
    undocumented = [action.option_strings for action in parser._actions if not action.help]
    assert not undocumented, f"flags without help: {undocumented}"
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {"--preset", "--config", "--settings"} <= flags


def test_the_speed_flags_reach_the_settings(tmp_path):
    from training.runs import config

    parsed, _ = config.parse_args(
        ["--data", "x", "--out", str(tmp_path / "run"), "--compile", "--hint-dense-share", "0.3"]
    )
    assert parsed.compile and parsed.hint_dense_share == 0.3
    assert not config.parse_args(["--data", "x", "--out", str(tmp_path / "run")])[0].compile
    assert "--hint-dense-share 1.5" in "; ".join(config.problems_with(config.Config(hint_dense_share=1.5)))


def test_settings_files_and_the_old_config_name_still_work(tmp_path):
    import json

    photos = write_photos(tmp_path / "photos", 6)
    settings = tmp_path / "stage.json"
    settings.write_text(
        json.dumps(
            {
                "data": [str(photos)],
                "config": "baseline",
                "image_size": 32,
                "batch_size": 4,
                "max_steps": 2,
                "pretrained": False,
                "cache_side": 48,
            }
        )
    )
    assert train_main(["--settings", str(settings), "--out", str(tmp_path / "run"), "--max-steps", "3"]) == 0
    state = load(tmp_path / "run" / "last.pt")
    assert state["config"]["preset"] == "baseline" and state["step"] == 3, "the command line overrides the file"
    state["config"]["config"] = state["config"].pop("preset")  # a checkpoint written before the rename
    torch.save(state, tmp_path / "old.pt")
    from training.onnx_io import export

    assert export.main([str(tmp_path / "old.pt"), "-o", str(tmp_path / "old.onnx")]) == 0
    settings.write_text(json.dumps({"data": [str(photos)], "max_stepz": 2}))
    with pytest.raises(SystemExit):
        train_main(["--settings", str(settings), "--out", str(tmp_path / "other")])


def test_folder_shares_set_each_named_folders_draws_and_the_rest_share_by_power():
    photos = [
        data.Photo(Path(f"{g}{i}"), f"{g}{i}", g)
        for g, n in (("faces", 300), ("scenes", 20), ("pets", 100), ("cars", 25))
        for i in range(n)
    ]
    weights = data.folder_weights(photos, power=0.5, shares=data.parse_shares(["faces=0.1", "scenes=0.5"]))
    mix = data.folder_mix(photos, weights)
    assert mix["faces"] == pytest.approx(0.1) and mix["scenes"] == pytest.approx(0.5)
    assert mix["pets"] / mix["cars"] == pytest.approx((100 / 25) ** 0.5)  # the rest: by --folder-power
    with pytest.raises(TrainingError, match="not among the training folders"):
        data.folder_weights(photos, shares={"landscapes": 0.2})
    for bad in (["faces=2"], ["faces"], ["faces=0.7", "pets=0.6"]):
        with pytest.raises(TrainingError):
            data.parse_shares(bad)


def test_a_frozen_encoder_keeps_its_weights_and_statistics(tmp_path):
    trainer = tiny_trainer(tmp_path, preset="fusion-effnet", encoder_lr_scale=0.0, crop_min_area=0.8, lr=1e-2)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    batch = one_batch(trainer)
    trainer.train_step(batch)
    after = trainer.generator.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any(k.startswith(("encoder.", "hint_stem.")) for k in changed), "decoder only"
    assert any(k.startswith("decoder.") for k in changed)


def test_a_soup_averages_the_exported_weights_of_two_runs(tmp_path):
    from training.runs import soup

    for name, seed in (("a", "1"), ("b", "2")):
        assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2", "--seed", seed, out=name)) == 0
    assert soup.main([str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "soup")]) == 0
    a, b, mixed = (load(tmp_path / name / "last.pt")["ema"] for name in ("a", "b", "soup"))
    name = next(key for key, value in a.items() if value.is_floating_point() and not torch.equal(value, b[key]))
    torch.testing.assert_close(mixed[name], (a[name] + b[name]) / 2)
    assert (tmp_path / "soup" / "config.json").is_file()
    assert soup.main([str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "soup")]) == 1  # exists


def test_a_run_from_other_weights_keeps_its_start_to_average_with_its_end(tmp_path):
    from training.runs import soup

    photos = write_photos(tmp_path / "photos", 6)
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2", photos=photos, out="first")) == 0
    assert not (tmp_path / "first" / "start.pt").exists(), "a run from scratch has no start worth keeping"
    assert (
        train_main(
            tiny(
                tmp_path,
                "--config",
                "baseline",
                "--max-steps",
                "2",
                "--init-from",
                str(tmp_path / "first"),
                photos=photos,
                out="second",
            )
        )
        == 0
    )
    source, start = load(tmp_path / "first" / "last.pt")["ema"], load(tmp_path / "second" / "start.pt")
    assert start["step"] == 0
    for key, value in source.items():
        torch.testing.assert_close(start["ema"][key], value, msg=key)
    out = tmp_path / "halfway"
    assert soup.main([str(tmp_path / "second" / "start.pt"), str(tmp_path / "second"), "-o", str(out)]) == 0
    assert (out / "last.pt").is_file()


def test_the_least_colourful_photos_are_left_out_stably():
    photos = [
        data.Photo(Path(f"{key}.png"), key, "g", chroma=chroma)
        for key, chroma in [("a", 9.0), ("b", 2.5), ("c", 30.0), ("d", 2.5), ("e", 14.0)]
    ]
    assert [p.key for p in data.without_least_colorful(photos, 0.4)] == ["a", "c", "e"]
    assert data.without_least_colorful(photos, 0.1) == photos, "a share under one photo leaves them all"


def test_saturation_boosted_targets_scale_the_truth_and_its_hints_alike(tmp_path):
    trainer = tiny_gan_trainer(tmp_path, max_steps=4, critic_steps=0, gan_steps=0)
    rgb = one_batch(trainer)
    trainer.config.hint_probability = 1.0
    trainer.hint_generator.manual_seed(0)
    _, plain_ab, plain_hints, plain_mask = trainer.prepare_batch(rgb)
    trainer.config.target_saturation = 1.2
    trainer.hint_generator.manual_seed(0)
    _, ab, hints, mask = trainer.prepare_batch(rgb)
    assert torch.allclose(ab, (plain_ab * 1.2).clamp(-110, 110))
    assert torch.equal(mask, plain_mask) and torch.allclose(hints, plain_hints * 1.2, atol=1e-4)


def test_a_checkpoint_never_writes_through_a_link_nor_leaves_a_file_when_the_disk_is_full(tmp_path, monkeypatch):
    from training.runs import checkpoint

    victim = tmp_path / "someone_elses.txt"
    victim.write_text("keep")
    (tmp_path / ".last.pt.tmp").symlink_to(victim)  # the name an older version wrote through
    checkpoint.save_atomic({"config": {}, "step": 1}, tmp_path / "last.pt")
    assert victim.read_text() == "keep" and checkpoint.load(tmp_path / "last.pt")["step"] == 1

    def full(state, handle):
        handle.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(TrainingError, match="No space left"):
        checkpoint.save_atomic({"config": {}, "step": 2}, tmp_path / "last.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".last.pt.tmp", "last.pt", "someone_elses.txt"]
    assert checkpoint.load(tmp_path / "last.pt")["step"] == 1, "the last good checkpoint is kept"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lr": None}, "lr cannot be null"),
        ({"batch_size": "2"}, "batch_size must be a whole number"),
        ({"seed": "x"}, "seed must be a whole number"),
        ({"device": "tpu"}, "device 'tpu': choose one of"),
        ({"amp": "fp8"}, "amp 'fp8'"),
        ({"gan": 1}, "gan must be true or false"),
    ],
)
def test_a_settings_file_is_checked_like_the_command_line(tmp_path, capsys, settings, message):
    (tmp_path / "s.json").write_text(json.dumps(settings))
    with pytest.raises(SystemExit) as stop:
        train_main(tiny(tmp_path, "--settings", str(tmp_path / "s.json")))
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_time_limit_spent_before_the_speed_is_known_is_said(tmp_path, monkeypatch, caplog):
    clock = {"now": 0.0}
    real_step = Trainer.train_step

    def slow_step(self, batch):  # each step takes 10 s of a 60 s limit: it runs out while being measured
        clock["now"] += 10.0
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", slow_step)
    monkeypatch.setattr(Trainer, "clock", staticmethod(lambda: clock["now"]))
    with caplog.at_level("WARNING", logger="colorize.train"):
        assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2000", "--time-limit", "60")) == 0
    assert "before the speed was measured" in caplog.text
    run = tmp_path / "run"
    assert (run / "loss_curves.png").is_file() and list((run / "samples").glob("*.png")), "a short run has both"


def test_ctrl_c_says_where_the_run_can_continue(tmp_path, monkeypatch, capsys):
    def interrupted(self):
        self.save()
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run", interrupted)
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "4")) == 130
    error = capsys.readouterr().err
    assert "stopped; the last checkpoint" in error and "--resume" in error and "Traceback" not in error


def test_a_run_folder_inside_its_data_or_in_use_is_refused(tmp_path, capsys):
    import fcntl

    photos = write_photos(tmp_path / "photos", 6)
    assert train_main(tiny(tmp_path, "--config", "baseline", photos=photos, out="photos/run")) == 1
    assert "inside --data" in capsys.readouterr().err and not (photos / "run").exists()
    (tmp_path / "busy").mkdir()
    with open(tmp_path / "busy" / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert train_main(tiny(tmp_path, "--config", "baseline", photos=photos, out="busy")) == 1
    assert "another colorize-train is running" in capsys.readouterr().err


def test_a_resumed_run_logs_each_step_once(tmp_path):
    from training.trainer.train import trim_log

    log = tmp_path / "log.csv"
    log.write_text("step,name,value\n5,loss,1\n10,loss,0.9\n15,loss,0.8\n")
    trim_log(log, 10)
    assert log.read_text().splitlines() == ["step,name,value", "5,loss,1", "10,loss,0.9"]


def test_a_new_split_holds_out_a_tenth_by_default_and_says_so(tmp_path, caplog):
    photos = write_photos(tmp_path / "photos", 40)
    with caplog.at_level("INFO", logger="colorize.train"):
        assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2", photos=photos)) == 0
    assert "holding out 4 of 40 photos for validation" in caplog.text
    assert len((tmp_path / "run" / "val_split.txt").read_text().split()) == 4


def test_unreadable_and_linked_folders_are_counted_not_skipped_silently(tmp_path, monkeypatch, caplog):
    photos = write_photos(tmp_path / "photos" / "kept", 6)
    write_photos(tmp_path / "photos" / "locked", 2)
    (tmp_path / "photos" / "linked").symlink_to(photos, target_is_directory=True)
    real_scandir = os.scandir

    def scandir(path):  # root reads any folder: a folder it cannot read is made by refusing it here
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with caplog.at_level("WARNING", logger="colorize.train"):
        report = data.scan([tmp_path / "photos"], progress=False)
    assert len(report.photos) == 6 and len(report.passed_folders) == 2
    assert "and 2 folder(s)" in report.summary()
    assert "locked: cannot read this folder" in caplog.text and "linked: a link to a folder" in caplog.text


@pytest.mark.parametrize("recipe", sorted((ROOT / "docs" / "recipe").glob("stage*.json")), ids=lambda p: p.stem)
def test_every_recipe_stage_reads_as_settings(recipe):
    from training.runs.config import read_settings

    settings = read_settings(recipe)
    assert settings["data"] and settings["preset"].startswith("fusion")


def test_a_missing_val_split_file_is_refused_not_created(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.trainer.train import main as train_main

    typo = tmp_path / "typo.txt"
    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2", "--val-split", str(typo))) == 1
    assert not typo.exists() and not (tmp_path / "run" / "last.pt").exists()
    assert "--val-split" in capsys.readouterr().err


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
    from training.trainer.train import main as train_main

    with pytest.raises(SystemExit) as stop:
        train_main(tiny(tmp_path, "--config", "baseline", *extra))
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_training_into_an_existing_file_is_refused(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.trainer.train import main as train_main

    (tmp_path / "notes.txt").write_text("keep me")
    argv = tiny(tmp_path, "--config", "baseline")
    argv[argv.index("--out") + 1] = str(tmp_path / "notes.txt")
    with pytest.raises(SystemExit):
        train_main(argv)
    assert "is a file" in capsys.readouterr().err and (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_resume_refuses_settings_it_cannot_change(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.trainer.train import main as train_main

    assert train_main(tiny(tmp_path, "--config", "baseline", "--max-steps", "2")) == 0
    capsys.readouterr()
    out = str(tmp_path / "run")
    assert train_main(["--out", out, "--resume", "--preset", "intermediate"]) == 1
    error = capsys.readouterr().err
    assert "--preset intermediate (this run has baseline)" in error and "--init-from" in error
    assert train_main(["--out", out, "--resume", "--max-steps", "3", "--preset", "baseline"]) == 0, "same is fine"


def test_crops_grow_from_their_first_size_to_the_full_one_over_the_first_half():
    sizes = [data.crop_size_at(step, 128, 224, 40) for step in range(50)]
    assert sizes[0] == 128 and sizes[39] == 224 and sizes[40:] == [224] * 10
    assert sorted(sizes) == sizes and set(sizes) == {128, 160, 192, 224}, "32 px stages, never shrinking"
    assert [sizes.count(size) for size in (128, 160, 192, 224)] == [10, 10, 10, 20]


def test_a_run_with_growing_crops_trains_each_batch_at_its_steps_size(tmp_path, monkeypatch):
    seen = []
    real = Trainer.train_step

    def recording(self, rgb_uint8):
        seen.append(rgb_uint8.shape[-1])
        return real(self, rgb_uint8)

    monkeypatch.setattr(Trainer, "train_step", recording)
    argv = tiny(tmp_path, "--max-steps", "8", "--image-size", "96", "--first-crop-size", "32")
    assert train_main(argv) == 0
    assert seen == [data.crop_size_at(step, 32, 96, 4) for step in range(8)] == [32, 32, 64, 96, 96, 96, 96, 96]
    assert "--first-crop-size 48" in "; ".join(config_problems(first_crop_size=48, image_size=96))
    assert "--first-crop-size 128" in "; ".join(config_problems(first_crop_size=128, image_size=96))


def config_problems(**settings) -> list[str]:
    from training.runs import config

    return config.problems_with(config.Config(**settings))
