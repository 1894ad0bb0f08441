"""Photos and command lines for tiny training runs: a few synthetic photos whose colour follows their brightness
(learnable from L alone), and the flags of a run that takes seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def colormap_photo(seed: int, size: int = 48) -> np.ndarray:
    """A photo whose color is a function of its local brightness (learnable from L alone)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    brightness = 0.5 + 0.4 * np.sin(6 * x + rng.uniform(0, 6)) * np.cos(4 * y + rng.uniform(0, 6))
    red, green, blue = brightness**0.7, brightness, brightness**1.8
    return (np.stack([red, green, blue], -1) * 255).astype(np.uint8)


def write_photos(folder: Path, count: int, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(start, start + count):
        Image.fromarray(colormap_photo(index)).save(folder / f"photo_{index:03d}.png")
    return folder


def tiny(tmp_path: Path, *extra: str, photos: Path | None = None, out: str = "run") -> list[str]:
    photos = photos or write_photos(tmp_path / "photos", 6)
    return [
        "--data",
        str(photos),
        "--out",
        str(tmp_path / out),
        "--image-size",
        "32",
        "--batch-size",
        "4",
        "--no-pretrained",
        "--log-every",
        "5",
        "--sample-every",
        "1000",
        "--cache-side",
        "48",
        *extra,
    ]


def tiny_trainer(folder: Path, **settings):
    """A colorize-train Trainer in this process over 4 synthetic photos (64 px crops, batch 2, no pretrained weights,
    no validation split); ``settings`` override any of its Config fields."""
    import torch

    from training.runs.config import Config
    from training.trainer.train import Trainer

    defaults = {"image_size": 64, "batch_size": 2, "max_steps": 2, "pretrained": False, "val_count": 0}
    config = Config(**{"data": [str(write_photos(folder / "photos", 4))], "cache_side": 64, **defaults, **settings})
    return Trainer(config, folder / "run", 0, 1, torch.device("cpu"))


def one_batch(trainer):
    """A batch of two training crops of ``trainer``'s size."""
    import torch

    from training.data import photos

    crops = photos.ColorCrops(trainer.train_photos, trainer.config.image_size, trainer.config.cache_side)
    return next(iter(torch.utils.data.DataLoader(crops, batch_size=2)))


def train_on_two_ranks(argv: list[str], port: int):
    """``colorize-train ARGV`` as two torchrun processes on this CPU (gloo); the finished process."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(port)]
    command += ["-m", "training.trainer.train", *argv]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
