"""The settings of a training run (``Config``) and the ``colorize-train`` command line that fills them."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .losses import CHROMA_LOSSES
from .models import PRESETS

CHOICES = {"chroma_loss": list(CHROMA_LOSSES), "amp": ["none", "bf16", "fp16"], "device": ["auto", "cpu", "cuda"]}
DESCRIPTION = "Train a colorization generator (optionally as a GAN, NoGAN schedule) on folders of photos."


@dataclass
class Config:
    """Every setting of a run; written to RUN_DIR/config.json and stored in each checkpoint."""

    data: list[str] = field(default_factory=list)
    config: str = "fusion-effnet"
    image_size: int = 128
    batch_size: int = 16
    max_steps: int = 2000
    epochs: float | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    gan: bool = False
    critic_steps: int = 0  # NoGAN: discriminator pretraining steps (generator frozen)
    gan_steps: int = 0  # NoGAN: final adversarial steps at gan_lr
    gan_lr: float = 2e-5
    gan_weight: float = 0.02
    chroma_loss: str = "l1"  # l1 | euclidean (losses.CHROMA_LOSSES)
    colorfulness_weight: float = 1.0  # weight of losses.chroma_shortfall
    perceptual_weight: float = 0.0
    hint_probability: float = 0.5
    hint_max_points: int = 20
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"
    amp: str = "none"  # none | bf16 | fp16
    val_count: int = 300
    val_split: str | None = None
    cache_side: int | None = 192
    workers: int = 0
    folder_power: float = 0.5
    pretrained: bool = True
    classifier_weights: str | None = None
    log_every: int = 20
    sample_every: int = 250
    checkpoint_every: int = 250
    stop_at_step: int | None = None  # checkpoint and stop here, schedule unchanged: continue later with --resume
    init_from: str | None = None  # start from this run's (or checkpoint's) EMA generator weights: fine-tuning
    time_limit: float | None = None  # seconds: fit the run's length (and LR schedule) to them from measured speed


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    defaults = Config()
    parser = argparse.ArgumentParser(prog="colorize-train", description=DESCRIPTION)
    parser.add_argument("--data", nargs="+", help="folders of color photos (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, logs, samples, config")
    parser.add_argument("--config", choices=PRESETS, default=defaults.config, help="model preset")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--gan", action="store_true", help="NoGAN schedule: generator, then critic, then GAN phase")
    parser.add_argument("--no-pretrained", dest="pretrained", action="store_false", help="random init (tests)")
    for name, value in asdict(defaults).items():
        if name in ("data", "config", "gan", "pretrained"):
            continue
        optional_types = {"epochs": float, "cache_side": int, "stop_at_step": int, "time_limit": float}
        kind = type(value) if value is not None else optional_types.get(name, str)
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=value, choices=CHOICES.get(name))
    args = parser.parse_args(argv)
    values = {k: getattr(args, k) for k in asdict(defaults) if hasattr(args, k)}
    config = Config(**values)
    # What the command line names, even at its default value (a resume may set a setting back to its default).
    for action in parser._actions:
        if action.dest in values:
            action.default = argparse.SUPPRESS
    args.changed = set(vars(parser.parse_args(argv))) & set(values)
    if not args.resume and not config.data:
        parser.error("--data is required (unless --resume)")
    return config, args
