"""The settings of a training run (``Config``) and the ``colorize-train`` command line that fills them.

Settings come, in rising order of precedence, from the defaults below, a ``--settings FILE.json`` (a run's own
config.json, or a recipe stage in docs/recipe/), and the command line.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from training.common.errors import TrainingError
from training.networks.generators import PRESETS
from training.networks.losses import CHROMA_LOSSES, SHORTFALL_TERMS

CHOICES = {
    "chroma_loss": list(CHROMA_LOSSES),
    "colorfulness_form": list(SHORTFALL_TERMS),
    "amp": ["none", "bf16", "fp16"],
    "device": ["auto", "cpu", "cuda"],
    "preset": list(PRESETS),
    "encoder_batch_norm": ["batch", "frozen"],
}
DESCRIPTION = "Train a colorization generator (optionally as a GAN, NoGAN schedule) on folders of photos."
LEGACY_NAMES = {"config": "preset"}  # settings renamed since: old checkpoints and config files still load


@dataclass
class Config:
    """Every setting of a run; written to RUN_DIR/config.json and stored in each checkpoint."""

    data: list[str] = field(default_factory=list)
    preset: str = "fusion-effnet"
    image_size: int = 128
    batch_size: int = 16
    max_steps: int = 2000
    epochs: float | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    gan: bool = False
    critic_steps: int = 0
    gan_steps: int = 0
    gan_lr: float = 2e-5
    gan_weight: float = 0.02
    chroma_loss: str = "l1"
    colorfulness_weight: float = 1.0
    colorfulness_form: str = "magnitude"
    perceptual_weight: float = 0.0
    hint_probability: float = 0.5
    hint_max_points: int = 20
    hint_dense_share: float = 0.0
    bins_temperature: float = 0.5
    bins_rebalance: float = 0.0
    target_saturation: float = 1.0
    drop_least_colorful: float = 0.0
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"
    amp: str = "none"
    val_count: int | None = None
    val_split: str | None = None
    cache_side: int | None = 192
    workers: int = 0
    folder_power: float = 0.5
    folder_share: list[str] = field(default_factory=list)
    crop_min_area: float = 0.3
    first_crop_size: int | None = None
    encoder_lr_scale: float = 1.0
    encoder_batch_norm: str = "batch"
    pretrained: bool = True
    classifier_weights: str | None = None
    log_every: int = 20
    sample_every: int = 250
    checkpoint_every: int = 250
    stop_at_step: int | None = None
    init_from: str | None = None
    time_limit: float | None = None
    compile: bool = False


HELP = {
    "data": "folders of color photos, searched recursively; a folder's top-level subfolders are its groups",
    "preset": "the network: baseline, intermediate, fusion-effnet (the shipped one), fusion-effnet-bins (the same "
    "with a distribution over ab bins, trained by cross-entropy; --init-from a fusion-effnet model starts "
    "it there) or fusion-irv2",
    "image_size": "side of the square training crops, in pixels",
    "batch_size": "crops per step (per process under torchrun)",
    "max_steps": "length of the run in steps (with the GAN phases, all of them)",
    "epochs": "length of the run in passes over the training photos, instead of --max-steps",
    "lr": "peak learning rate of the generator (linear warm-up, then cosine decay to 5 %%)",
    "weight_decay": "AdamW weight decay",
    "gan": "NoGAN schedule: the generator alone, then the critic alone, then a short adversarial phase",
    "critic_steps": "with --gan: steps that train the critic alone, generator frozen",
    "gan_steps": "with --gan: final adversarial steps, at --gan-lr",
    "gan_lr": "with --gan: the generator's learning rate in the adversarial phase (the critic's is 10x)",
    "gan_weight": "with --gan: weight of the adversarial term",
    "chroma_loss": "l1 (on a* and b*) or euclidean (the mean ab distance, the error AuC integrates)",
    "colorfulness_weight": "weight of the chroma shortfall term, which keeps the colors from fading to sepia",
    "colorfulness_form": "magnitude (any hue of the truth's strength counts) or aligned (only chroma along the true "
    "hue counts: color where the hue is likely, restraint where it is not)",
    "perceptual_weight": "weight of a perceptual term on the frozen classifier's features (0: off)",
    "hint_probability": "share of training samples that get color hints drawn from the truth",
    "hint_max_points": "most hint points per sample",
    "hint_dense_share": "share of the hinted samples that also get a matched reference's dense dots (one per 8-px "
    "cell over part of the crop)",
    "ema_decay": "decay of the weights' exponential moving average (what is exported)",
    "seed": "seed of every random choice; a resumed run continues the same sequence",
    "device": "auto, cpu or cuda",
    "amp": "mixed precision: none, bf16 (CPUs with AVX-512 BF16, recent GPUs) or fp16 (GPUs)",
    "val_count": "photos held out for validation when a new split is chosen (default: a tenth of them, at most 300)",
    "val_split": "a file of held-out photo names (relative to --data) to use instead of choosing one",
    "cache_side": "keep photos in memory shrunk to this short side (0: read from disk each time)",
    "workers": "data-loading processes (0: in the training process)",
    "folder_power": "a folder of n photos is drawn in proportion to n ** POWER (0.5: big folders count sub-linearly)",
    "folder_share": "NAME=FRACTION ...: draw these folders this share of the time; the rest by --folder-power",
    "crop_min_area": "training crops cover at least this share of a photo (up to all of it)",
    "first_crop_size": "start the crops this small (a multiple of 32) and grow them by 32 px to --image-size over the "
    "first half of the generator phase: the early steps, which need less detail, run faster",
    "encoder_lr_scale": "the pretrained encoder's learning rate as a share of --lr (0: frozen, ~3x faster on CPU)",
    "encoder_batch_norm": "with --encoder-lr-scale above 0: batch (the encoder's batch norms normalise by each batch "
    "and update their statistics) or frozen (they keep the statistics they start with while the weights learn: "
    "steadier with small batches)",
    "pretrained": "start from ImageNet weights where the preset has them",
    "classifier_weights": "a local weights file for the fusion classifier (fusion-irv2: timm's inception_resnet_v2)",
    "log_every": "write log.csv (and TensorBoard) every this many steps",
    "sample_every": "validate and write a sample grid every this many steps",
    "checkpoint_every": "write last.pt every this many steps",
    "stop_at_step": "checkpoint and stop at this step without changing the schedule (continue with --resume)",
    "init_from": "start from another run's (or checkpoint's) weights, or an exported model: 'shipped' or FILE.onnx",
    "bins_temperature": "a bins preset's annealing temperature (its colour is the mean of its distribution sharpened "
    "by it: lower leans towards the likeliest bin, 1 is the plain mean); validation and colorize-export use it",
    "bins_rebalance": "a bins preset's class rebalancing (Zhang et al.'s 1 - lambda): weigh each pixel by the "
    "rarity of its true colour, so the distribution leans away from gray; 0 off, 0.5 Zhang's (strong)",
    "target_saturation": "scale the true a*, b* of the training crops by this (DDColor and BigColor: 1.2), so the "
    "model learns livelier colours than its photos' averages; hints are drawn from the scaled colours too, so a dot "
    "is still followed as given",
    "drop_least_colorful": "leave out this share of the training photos, those of the lowest mean chroma (BigColor: "
    "0.1): dull photos teach the model to paint dull colours",
    "time_limit": "seconds: fit the run's length and schedule to them from the speed measured as it goes",
    "compile": "run the training network through torch.compile (a minute or more of compiling first; measure it "
    "with bench/bench_training.py before a long run)",
}


def from_dict(values: dict) -> tuple[Config, list[str]]:
    """A Config from saved settings (a checkpoint's, a config.json), old names included; also the names it does
    not know (a newer version's settings), which the caller reports."""
    renamed = {LEGACY_NAMES.get(name, name): value for name, value in values.items()}
    known = {name: value for name, value in renamed.items() if name in Config.__dataclass_fields__}
    return Config(**known), sorted(set(renamed) - set(known))


def read_settings(path: Path) -> dict:
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise TrainingError(f"--settings {path}: cannot read it as JSON ({error})") from error
    if not isinstance(values, dict):
        raise TrainingError(f"--settings {path}: expected a JSON object of settings")
    renamed = {LEGACY_NAMES.get(name, name): value for name, value in values.items()}
    unknown = sorted(set(renamed) - set(Config.__dataclass_fields__))
    if unknown:
        raise TrainingError(f"--settings {path}: unknown setting(s) {', '.join(unknown)}")
    problems = [problem for name, value in renamed.items() if (problem := _type_problem(name, value))]
    if problems:
        raise TrainingError(f"--settings {path}: {'; '.join(problems)}")
    return {
        name: float(value) if value is not None and _annotation(name)[0] == "float" else value
        for name, value in renamed.items()
    }


_KIND_WORDS = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "a text",
    "list[str]": "a list of texts",
}


def _annotation(name: str) -> tuple[str, bool]:
    """(the setting's type name, whether it may be null), read off Config's annotations."""
    text = str(Config.__dataclass_fields__[name].type)
    return text.split("|")[0].strip(), "None" in text


def _type_problem(name: str, value) -> str | None:
    """Why a value from a settings file cannot be the setting ``name`` (a JSON file is not checked by argparse)."""
    kind, optional = _annotation(name)
    if value is None:
        return None if optional else f"{name} cannot be null"
    fits = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "list[str]": isinstance(value, list) and all(isinstance(item, str) for item in value),
    }.get(kind, True)
    if not fits:
        return f"{name} must be {_KIND_WORDS.get(kind, kind)}, not {value!r}"
    if name in CHOICES and value not in CHOICES[name]:
        return f"{name} {value!r}: choose one of {', '.join(CHOICES[name])}"
    return None


def _parser(defaults: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize-train", description=DESCRIPTION)
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, logs, samples, config")
    parser.add_argument(
        "--settings",
        type=Path,
        metavar="FILE.json",
        help="settings from a JSON file (a run's config.json, a recipe stage in docs/recipe/); "
        "the command line overrides them",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--data", nargs="+", help=HELP["data"])
    parser.add_argument("--preset", "--config", dest="preset", choices=CHOICES["preset"], help=HELP["preset"])
    parser.add_argument("--gan", action="store_true", default=None, help=HELP["gan"])
    parser.add_argument("--compile", action="store_true", default=None, help=HELP["compile"])
    parser.add_argument(
        "--no-pretrained",
        dest="pretrained",
        action="store_false",
        default=None,
        help="random init instead of ImageNet weights (tests)",
    )
    parser.add_argument("--folder-share", nargs="+", metavar="NAME=FRACTION", help=HELP["folder_share"])
    optional_types = {
        "epochs": float,
        "cache_side": int,
        "stop_at_step": int,
        "time_limit": float,
        "val_count": int,
        "first_crop_size": int,
    }
    for name, value in asdict(defaults).items():
        if name in ("data", "preset", "gan", "compile", "pretrained", "folder_share"):
            continue
        kind = type(value) if value is not None else optional_types.get(name, str)
        shown = HELP[name] + ("" if value is None or "default" in HELP[name] else f" (default: {value})")
        parser.add_argument("--" + name.replace("_", "-"), type=kind, choices=CHOICES.get(name), help=shown)
    return parser


# Settings a resumed run takes from the command line: its length, phases, loss weights and hint density (the
# schedule then continues from the current step towards the new end), and how it is observed and fed.
ADJUSTABLE_ON_RESUME = frozenset(
    {
        "max_steps",
        "epochs",
        "critic_steps",
        "gan_steps",
        "colorfulness_weight",
        "gan_weight",
        "gan_lr",
        "hint_probability",
        "hint_max_points",
        "hint_dense_share",
        "time_limit",
        "stop_at_step",
        "data",
        "device",
        "compile",
        "workers",
        "log_every",
        "sample_every",
        "checkpoint_every",
    }
)
# name -> (lowest, highest, whether the lowest is allowed); None: no bound on that side.
RANGES = {
    "image_size": (32, 4096, True),
    "batch_size": (1, None, True),
    "max_steps": (1, None, True),
    "epochs": (0, None, False),
    "lr": (0, 1, False),
    "weight_decay": (0, 1, True),
    "critic_steps": (0, None, True),
    "gan_steps": (0, None, True),
    "gan_lr": (0, 1, False),
    "gan_weight": (0, None, True),
    "colorfulness_weight": (0, None, True),
    "perceptual_weight": (0, None, True),
    "hint_probability": (0, 1, True),
    "hint_max_points": (1, None, True),
    "hint_dense_share": (0, 1, True),
    "ema_decay": (0, 1, True),
    "bins_temperature": (0, 10, False),
    "bins_rebalance": (0, 1, True),
    "target_saturation": (0, 4, False),
    "drop_least_colorful": (0, 1, True),
    "val_count": (0, None, True),
    "cache_side": (0, None, True),
    "workers": (0, 64, True),
    "folder_power": (0, 4, True),
    "crop_min_area": (0, 1, False),
    "first_crop_size": (32, 4096, True),
    "encoder_lr_scale": (0, 10, True),
    "log_every": (1, None, True),
    "sample_every": (1, None, True),
    "checkpoint_every": (1, None, True),
    "stop_at_step": (1, None, True),
    "time_limit": (0, None, False),
}


def problems_with(config: Config) -> list[str]:
    """Settings that no run can use (a batch of 0, a learning rate that is not a number), in words."""
    problems = []
    for name, (low, high, low_allowed) in RANGES.items():
        value = getattr(config, name)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if not math.isfinite(value):
            problems.append(f"{flag} {value}: give a number")
        elif value < low or (value == low and not low_allowed) or (high is not None and value > high):
            lowest = f"{low} or more" if low_allowed else f"more than {low}"
            problems.append(f"{flag} {value}: give {lowest}" + (f", at most {high}" if high is not None else ""))
    if config.preset.endswith("-bins") and (config.colorfulness_weight or config.perceptual_weight):
        # these terms see the regressed ab, not the annealed mean the model outputs: they would steer nothing real
        # (--gan is allowed: its critic sees the annealed mean)
        problems.append(
            f"--preset {config.preset} learns by cross-entropy (and --gan's critic): give "
            "--colorfulness-weight 0 and --perceptual-weight 0"
        )
    if config.first_crop_size is not None and (
        config.first_crop_size % 32 or config.first_crop_size >= config.image_size
    ):
        problems.append(
            f"--first-crop-size {config.first_crop_size}: give a multiple of 32 below --image-size {config.image_size}"
        )
    if config.bins_rebalance and not config.preset.endswith("-bins"):
        problems.append(f"--bins-rebalance weighs a bins preset's cross-entropy; --preset {config.preset} has none")
    return problems


def resume_conflicts(stored: Config, given: Config, changed: set[str]) -> list[str]:
    """Settings given again on --resume that a resumed run cannot change (the network, the crops, the optimizer):
    refused, rather than silently trained with the run's own."""
    conflicts = []
    for name in sorted(changed - ADJUSTABLE_ON_RESUME):
        if getattr(given, name) != getattr(stored, name):
            flag = "--" + name.replace("_", "-")
            conflicts.append(f"{flag} {getattr(given, name)} (this run has {getattr(stored, name)})")
    return conflicts


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    """(the run's settings, the parsed arguments); ``args.changed`` names the settings the command line or the
    settings file gave, even at their default value (a resumed run takes exactly those)."""
    defaults = Config()
    parser = _parser(defaults)
    args = parser.parse_args(argv)
    try:
        from_file = read_settings(args.settings) if args.settings else {}
    except TrainingError as error:
        parser.error(str(error))
    given = {name: getattr(args, name) for name in asdict(defaults) if getattr(args, name, None) is not None}
    values = {**asdict(defaults), **from_file, **given}
    args.changed = set(from_file) | set(given)
    if values["preset"].endswith("-bins") and "colorfulness_weight" not in args.changed:
        values["colorfulness_weight"] = 0.0  # a bins model learns by cross-entropy alone (problems_with)
    config = Config(**values)
    if not args.resume and not config.data:
        parser.error("--data is required (unless --resume)")
    if problems := problems_with(config):
        parser.error("; ".join(problems))
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; give a folder for the run (it is made if needed)")
    return config, args
