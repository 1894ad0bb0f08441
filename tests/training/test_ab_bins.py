"""The distribution-over-bins output (training/networks/ab_bins.py): its start, loss, export and round trip."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gimp_plugin.core.session import ColorizationModel  # noqa: E402
from training.networks import ab_bins  # noqa: E402
from training.networks.generators import build_generator  # noqa: E402
from training.trainer.start import with_ab_bins  # noqa: E402


def _regression_generator() -> torch.nn.Module:
    torch.manual_seed(0)
    generator = build_generator("fusion-effnet", pretrained=False).eval()
    with torch.no_grad():  # a head that paints (an untrained one writes almost 0 everywhere)
        generator.head.weight.normal_(0, 0.05)
        generator.head.bias.copy_(torch.tensor([0.3, -0.2]))
    return generator


def _inputs(size: int = 64, count: int = 2):
    lightness = torch.rand(count, 1, size, size) * 100
    return lightness, torch.zeros(count, 2, size, size), torch.zeros(count, 1, size, size)


def test_the_bins_head_starts_where_the_regression_is():
    regression = _regression_generator()
    bins = with_ab_bins(regression, "fusion-effnet-bins").eval()
    inputs = _inputs()
    with torch.no_grad():
        expected, started = regression(*inputs), bins(*inputs)
    assert expected.abs().mean() > 10, "the comparison is between heads that paint"
    assert (started - expected).abs().max() < 0.5, "the annealed mean of the start is the regressed colour"


def test_soft_targets_sum_to_one_and_their_mean_is_the_truth():
    centres = ab_bins.bin_centres()
    assert centres.shape == (225, 2) and centres.abs().max() == ab_bins.GRID_LIMIT
    truth = torch.tensor([[[[12.0]], [[-47.0]]], [[[0.0]], [[80.0]]]])  # [2, 2, 1, 1]
    targets = ab_bins.soft_targets(truth, centres)
    assert targets.shape == (2, 225, 1, 1)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(2, 1, 1))
    nearest = (centres[targets[:, :, 0, 0].argmax(dim=1)] - truth[:, :, 0, 0]).abs().max()
    assert nearest <= ab_bins.BIN_SPACING / 2, "the heaviest bin is the one around the truth"
    mean = ab_bins.annealed_mean(targets.log(), centres, temperature=1.0)
    assert (mean - truth).abs().max() < 1.0, "the encoding keeps the colour"


def test_a_lower_temperature_leans_towards_the_likeliest_colour():
    centres = ab_bins.bin_centres()
    red, green = [torch.tensor([[[[a]], [[b]]]]) for a, b in ((45.0, 30.0), (-45.0, 30.0))]
    mixed = 0.6 * ab_bins.soft_targets(red, centres) + 0.4 * ab_bins.soft_targets(green, centres)
    mean = ab_bins.annealed_mean(mixed.log(), centres, temperature=1.0)[0, :, 0, 0]
    annealed = ab_bins.annealed_mean(mixed.log(), centres, temperature=0.1)[0, :, 0, 0]
    assert abs(mean[0] - 9.0) < 1.5, "T = 1 is the mean of the two: a dull colour between them"
    assert annealed[0] > 35, "annealed, the likelier red wins"


def test_the_cross_entropy_is_lowest_when_the_logits_point_at_the_truth():
    bins = ab_bins.AbBins(feature_channels=4)
    truth = torch.tensor([30.0, -20.0]).view(1, 2, 1, 1).expand(2, 2, 8, 8)
    features = torch.zeros(2, 4, 8, 8)
    right = ab_bins.sampled_cross_entropy(bins, bins.inputs(features, truth), truth, share=0.5)
    wrong = ab_bins.sampled_cross_entropy(bins, bins.inputs(features, -truth), truth, share=0.5)
    assert right < wrong
    regressed = (-truth).clone().requires_grad_(True)
    ab_bins.sampled_cross_entropy(bins, bins.inputs(features, regressed), truth, share=1.0).backward()
    assert (regressed.grad[:, 0] < 0).any(), "the gradient pulls the regressed ab towards the truth"


def test_rebalancing_weighs_rare_colours_up_and_common_ones_down():
    centres = ab_bins.bin_centres()
    gray, vivid = torch.zeros(1, 2, 1), torch.tensor([60.0, 60.0]).view(1, 2, 1)
    mostly_gray = ab_bins.soft_targets(torch.cat([gray.expand(1, 2, 90), vivid.expand(1, 2, 10)], dim=2), centres)
    off = ab_bins.Rebalancing(len(centres), strength=0.0)
    assert torch.allclose(off.pixel_weights(mostly_gray), torch.ones(1, 100)), "strength 0 weighs all pixels alike"
    lean = ab_bins.Rebalancing(len(centres), strength=0.1)
    weights = lean.pixel_weights(mostly_gray)  # the first batch is the prior
    assert torch.allclose(lean.prior, mostly_gray.mean(dim=(0, 2)))
    assert weights[0, :90].max() < 1 < weights[0, 90:].min()
    assert weights.mean() == pytest.approx(1.0, abs=1e-4), "the mean weight under the prior is 1"
    strong = ab_bins.Rebalancing(len(centres), strength=0.5)
    strong_weights = strong.pixel_weights(mostly_gray)
    assert strong_weights[0, 99] / strong_weights[0, 0] > weights[0, 99] / weights[0, 0], "strength leans further"
    lean.pixel_weights(ab_bins.soft_targets(vivid.expand(1, 2, 100), centres))
    assert lean.prior.sum() == pytest.approx(1.0) and lean.seen == 2
    assert lean.prior[centres.square().sum(1).argmin()] < mostly_gray.mean(dim=(0, 2)).max(), "the prior follows"


def test_a_rebalanced_cross_entropy_pulls_harder_at_a_vivid_pixel():
    bins = ab_bins.AbBins(feature_channels=4)
    truth = torch.zeros(1, 2, 4, 4)
    truth[..., 3, :] = 60.0  # four vivid pixels among twelve gray ones
    features = torch.zeros(1, 4, 4, 4)
    pulls = {}
    for strength in (0.0, 0.2):
        torch.manual_seed(0)  # the same pixels sampled in both
        regressed = torch.full((1, 2, 4, 4), 20.0, requires_grad=True)
        rebalancing = ab_bins.Rebalancing(len(bins.centres), strength) if strength else None
        ab_bins.sampled_cross_entropy(bins, bins.inputs(features, regressed), truth, 1.0, rebalancing).backward()
        pull = regressed.grad.abs().sum(dim=1)[0]
        pulls[strength] = (pull[3].mean() / pull[:3].mean()).item()
    assert pulls[0.2] > 1.5 * pulls[0.0]


def test_rebalancing_is_for_a_bins_preset():
    from training.runs.config import Config, problems_with

    assert not problems_with(Config(preset="fusion-effnet-bins", colorfulness_weight=0.0, bins_rebalance=0.1))
    assert any("--bins-rebalance" in p for p in problems_with(Config(preset="fusion-effnet", bins_rebalance=0.1)))


def test_a_bins_preset_refuses_terms_that_see_the_regressed_colour():
    from training.runs.config import Config, parse_args, problems_with

    def refused(**settings) -> bool:
        return any("cross-entropy" in p for p in problems_with(Config(preset="fusion-effnet-bins", **settings)))

    assert not refused(colorfulness_weight=0.0) and not refused(colorfulness_weight=0.0, gan=True)
    assert refused(colorfulness_weight=0.2) and refused(perceptual_weight=0.1)
    config, _ = parse_args(["--data", "photos", "--out", "run", "--preset", "fusion-effnet-bins"])
    assert config.colorfulness_weight == 0.0, "the preset alone is a run that starts"


def test_the_critic_sees_the_colour_the_model_outputs():
    bins = with_ab_bins(_regression_generator(), "fusion-effnet-bins").eval()
    with torch.no_grad():
        bins.bins.logits.bias.add_(torch.randn(225) * 3)  # a distribution that is no longer the regression's
        photo = _inputs()
        output = bins(*photo)
        annealed, inputs = bins(*photo, bins_inputs=True, annealed=True)
        regressed, same_inputs = bins(*photo, bins_inputs=True)
    torch.testing.assert_close(annealed, output)
    torch.testing.assert_close(inputs, same_inputs)
    assert (annealed - regressed).abs().max() > 1, "the output colour, not the regressed one"


def test_a_bins_model_trains_adversarially(tmp_path):
    from tests.tiny_runs import one_batch, tiny_trainer

    trainer = tiny_trainer(
        tmp_path, preset="fusion-effnet-bins", gan=True, critic_steps=1, gan_steps=1, colorfulness_weight=0.0
    )
    batch = one_batch(trainer)
    seen = []
    critic_step = trainer._critic_step
    trainer._critic_step = lambda lightness, ab, fake: seen.append(fake) or critic_step(lightness, ab, fake)
    assert "critic" in trainer.train_step(batch) and trainer.phase() == "gan"
    head_before = trainer.bins.logits.weight.detach().clone()
    values = trainer.train_step(batch)
    assert {"cross_entropy", "adversarial", "critic"} <= values.keys()
    assert not torch.equal(head_before, trainer.bins.logits.weight)
    assert all(fake.shape == (2, 2, 64, 64) for fake in seen)


@pytest.fixture(scope="module")
def bins_run(tmp_path_factory):
    from tests.tiny_runs import write_photos
    from training.trainer.train import main as train_main

    root = tmp_path_factory.mktemp("bins")
    photos = write_photos(root / "photos", 6)
    argv = [
        "--data",
        str(photos),
        "--out",
        str(root / "run"),
        "--preset",
        "fusion-effnet-bins",
        "--no-pretrained",
        "--max-steps",
        "2",
        "--image-size",
        "64",
        "--batch-size",
        "2",
        "--cache-side",
        "64",
        "--bins-rebalance",
        "0.1",
    ]
    assert train_main(argv) == 0
    return root / "run"


def test_a_rebalanced_run_keeps_its_colour_prior_in_the_checkpoint(bins_run):
    state = torch.load(bins_run / "last.pt", weights_only=False)
    prior = state["rebalancing"]["prior"]
    assert state["rebalancing"]["seen"] == 2 and prior.sum() == pytest.approx(1.0, abs=1e-4)
    assert prior.max() > 2 / len(prior), "learnt from the photos, not the uniform start"


def test_a_bins_model_trains_exports_and_records_its_temperature(bins_run, tmp_path):
    from training.onnx_io import export, export_notes

    lightness = np.random.default_rng(3).uniform(0, 100, (1, 1, 64, 64)).astype(np.float32)
    painted = {}
    for temperature in (1.0, 0.2):
        output = tmp_path / f"t{temperature}.onnx"
        assert export.main([str(bins_run), "-o", str(output), "--temperature", str(temperature)]) == 0
        model = ColorizationModel(output)
        assert model.info.arch == "unet-fusion-effnet-lite0-ab-bins" and model.has_features
        assert f"bins temperature {temperature:g}" in model.info.trained_on
        painted[temperature] = model.predict(lightness)  # the export's parity check held at this temperature
        # read back by --init-from (the whole round trip: the shipped model's fine-tune test)
        assert export_notes.bins_temperature(model.info.trained_on) == temperature
    assert not np.allclose(painted[0.2], painted[1.0], atol=1e-3), "the temperature is inside the graph"


def test_temperature_is_refused_for_a_regression_model(tmp_path, capsys):
    from tests.tiny_runs import write_photos
    from training.onnx_io import export
    from training.trainer.train import main as train_main

    photos = write_photos(tmp_path / "photos", 4)
    argv = [
        "--data",
        str(photos),
        "--out",
        str(tmp_path / "run"),
        "--preset",
        "baseline",
        "--max-steps",
        "1",
        "--image-size",
        "32",
        "--batch-size",
        "2",
        "--cache-side",
        "32",
        "--val-count",
        "1",
    ]
    assert train_main(argv) == 0
    assert export.main([str(tmp_path / "run"), "-o", str(tmp_path / "m.onnx"), "--temperature", "0.5"]) == 1
    assert "--temperature is for a bins model" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_a_rebalanced_run_trains_on_two_ranks(tmp_path):  # the prior is averaged across ranks each step

    from tests.tiny_runs import tiny, train_on_two_ranks

    argv = tiny(
        tmp_path,
        "--preset",
        "fusion-effnet-bins",
        "--image-size",
        "64",
        "--max-steps",
        "2",
        "--bins-rebalance",
        "0.1",
        "--device",
        "cpu",
        "--val-count",
        "2",
    )
    result = train_on_two_ranks(argv, 29519)
    assert result.returncode == 0, result.stderr[-2000:]
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["rebalancing"]["seen"] == 2 and state["rebalancing"]["prior"].sum() == pytest.approx(1.0, abs=1e-4)
