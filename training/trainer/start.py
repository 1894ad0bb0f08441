"""Where a run starts (``--init-from``): the preset's own initial weights, another run's checkpoint, or an exported
model ('shipped' or FILE.onnx); and which photos it holds out, so that a fine-tune never trains on the photos its
source held out for validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from training.common.errors import TrainingError
from training.data import photos as data
from training.data.lab import rgb_to_lab
from training.networks import folding
from training.networks.generators import ab_bins_of, build_generator
from training.onnx_io import from_onnx
from training.runs import checkpoint
from training.runs.config import Config, from_dict

log = logging.getLogger("colorize.train")

# The photos no stage of the shipped model saw: a fine-tune of it holds them out too.
SHIPPED_VAL_SPLIT = Path(__file__).resolve().parents[1] / "data" / "val_split.txt"
BINS_OF = {"fusion-effnet": "fusion-effnet-bins"}  # a regression preset -> its bins variant (--init-from)
CALIBRATION_BATCHES = 8  # batches of training crops that give an exported model's batch norms their statistics


@dataclass
class Start:
    checkpoint_state: dict | None = None  # --init-from RUN or checkpoint
    exported: Path | None = None  # --init-from shipped or FILE.onnx
    inherited_splits: list[Path] = field(default_factory=list)  # the source's split files, first found wins


def resolve(config: Config) -> Start:
    if not config.init_from:
        return Start()
    if from_onnx.is_exported_model(config.init_from):
        shipped = config.init_from == from_onnx.SHIPPED
        return Start(exported=from_onnx.resolve(config.init_from), inherited_splits=[SHIPPED_VAL_SPLIT] * shipped)
    source_file = checkpoint.find(Path(config.init_from))
    state = checkpoint.load(source_file)
    named = state["config"].get("val_split")  # the one its config names, else its run folder's
    return Start(state, None, ([Path(named)] if named else []) + [source_file.parent / "val_split.txt"])


def validation_split(photos: list[data.Photo], config: Config, start: Start, out: Path, is_main: bool, barrier):
    """(train, validation) photos. A fine-tune keeps its source's held-out photos out of training; when none of
    them is among these photos (a fine-tune on one's own photos), it holds out a new split of these."""
    split_file = data.validation_split_file(out, config.val_split, start.inherited_splits, write=is_main)
    barrier()  # rank 0 may be writing the split file
    train, validation = data.split(photos, split_file, config.val_count)
    if start.inherited_splits and not validation and config.val_split is None and config.val_count != 0:
        log.info("none of the source model's validation photos are in --data; choosing a new split")
        if is_main:
            split_file.unlink(missing_ok=True)
        barrier()
        train, validation = data.split(photos, split_file, config.val_count)
    if not train:
        raise TrainingError("every photo went to the validation split; add photos or lower --val-count")
    if is_main:
        log.info(
            "holding out %d of %d photos for validation (%s; --val-count N to choose another number)",
            len(validation),
            len(photos),
            split_file,
        )
    return train, validation


def generator(config: Config, start: Start, train_photos: list[data.Photo]) -> torch.nn.Module:
    """The generator the run trains, with its starting weights."""
    if start.exported is not None:
        network = _from_export(config, start.exported, train_photos)
    else:
        network = _built(config, start)
    if (bins := ab_bins_of(network)) is not None:
        bins.temperature = config.bins_temperature
    return network


def _built(config: Config, start: Start) -> torch.nn.Module:
    network = build_generator(config.preset, config.pretrained, config.classifier_weights)
    if start.checkpoint_state is not None:
        source_preset = from_dict(start.checkpoint_state["config"])[0].preset
        if source_preset != config.preset:
            raise TrainingError(f"--init-from holds a {source_preset} model, not {config.preset}")
        network.load_state_dict(start.checkpoint_state["ema"])
    return network


def _from_export(config: Config, path: Path, train_photos: list[data.Photo]) -> torch.nn.Module:
    """The generator of an exported model, its batch norms calibrated on a few batches of training crops. The
    exported architecture decides the preset."""
    network, preset, info = from_onnx.generator_from_onnx(path)
    if (bins := ab_bins_of(network)) is not None:  # a bins model keeps the temperature it was exported with
        config.bins_temperature = bins.temperature
    if config.preset == BINS_OF.get(preset):
        network, preset = with_ab_bins(network, config.preset), config.preset
        log.info("--init-from %s: the bins head starts at its regressed colours", path)
    if preset != config.preset:
        log.info("--init-from %s: a %s model; this run uses that preset", path, preset)
        config.preset = preset
    if preset.endswith("-bins") and (config.colorfulness_weight or config.perceptual_weight):
        log.info(
            "a bins model learns by cross-entropy (and --gan's critic): the colorfulness and perceptual terms "
            "are unused"
        )
    crops = data.ColorCrops(train_photos, config.image_size, config.cache_side, min_area=config.crop_min_area)
    draws = torch.randperm(len(crops), generator=torch.Generator().manual_seed(config.seed))
    size = min(len(crops), config.batch_size)
    batches = []
    for first in range(0, min(len(crops), size * CALIBRATION_BATCHES), size):
        rgb = torch.stack([crops[(int(i), int(i))] for i in draws[first : first + size]])
        lightness = rgb_to_lab(rgb.float() / 255)[:, :1]
        no_hints = torch.zeros_like(lightness)
        batches.append((lightness, torch.cat([no_hints, no_hints], 1), no_hints))
    folding.calibrate_batch_norms(network, batches)
    log.info("fine-tuning %s (%s, %s)", path, info.arch, info.trained_on)
    return network


def with_ab_bins(regression: torch.nn.Module, preset: str) -> torch.nn.Module:
    """A bins generator holding a regression generator's weights; its bin head starts at the regressed ab."""
    network = build_generator(preset, pretrained=False)
    missing, unexpected = network.load_state_dict(regression.state_dict(), strict=False)
    if unexpected or any(not name.startswith("bins.") for name in missing):
        raise TrainingError(f"cannot give a {preset} head to this model ({(unexpected or missing)[0]})")
    return network.train(regression.training)


def parameter_groups(network: torch.nn.Module, config: Config) -> list[dict]:
    """The trainable parameters; the pretrained encoder's at --encoder-lr-scale times the learning rate (at 0 the
    encoder is frozen)."""
    if not hasattr(network, "encoder_parameters"):
        return [{"params": [p for p in network.parameters() if p.requires_grad]}]
    scale = config.encoder_lr_scale
    if scale == 0:
        network.freeze_encoder()
    elif config.encoder_batch_norm == "frozen":
        network.freeze_encoder_statistics()
    encoder = {id(p) for p in network.encoder_parameters()}
    rest = [p for p in network.parameters() if p.requires_grad and id(p) not in encoder]
    if scale == 0:
        return [{"params": rest}]
    return [
        {"params": rest},
        {"params": [p for p in network.encoder_parameters() if p.requires_grad], "lr": config.lr * scale},
    ]
