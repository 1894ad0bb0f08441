"""Training throughput (images/s) of the real `colorize-train` loop, per setting, in one run on this machine.

Each variant trains the shipped recipe's network (fusion-effnet, 224-px crops, batch 16, encoder frozen) for a few
steps on one folder of the pool, in a fresh process, and reads the speed the run itself logs (log.csv,
images_per_s, the steady windows after the first). Machines differ 2x or more: compare variants of one run only.

Run: .venv/bin/python bench/bench_training.py --data ../shared/data/train/sun15 [--steps 60]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = [
    "--preset",
    "fusion-effnet",
    "--image-size",
    "224",
    "--batch-size",
    "16",
    "--encoder-lr-scale",
    "0",
    "--chroma-loss",
    "euclidean",
    "--colorfulness-weight",
    "0.22",
    "--cache-side",
    "288",
    "--crop-min-area",
    "0.5",
    "--sample-every",
    "100000",
    "--checkpoint-every",
    "100000",
    "--val-count",
    "16",
]
VARIANTS = {  # name -> (extra flags, environment)
    "recipe (bf16, 1 loader process)": (["--amp", "bf16", "--workers", "1"], {}),
    "bf16, torch.compile": (["--amp", "bf16", "--workers", "1", "--compile"], {}),
    "float32": (["--amp", "none", "--workers", "1"], {}),
    "bf16, loading in the training process": (["--amp", "bf16", "--workers", "0"], {}),
    "bf16, 2 loader processes": (["--amp", "bf16", "--workers", "2"], {}),
    # crops grow from 128 px to 224 over the first half of the run: its windows are not alike, so compare wall times
    "bf16, crops growing from 128 px": (["--amp", "bf16", "--workers", "1", "--first-crop-size", "128"], {}),
    # NoGAN's last phase: every step trains the critic, then the generator against it ({steps}: the whole run)
    "bf16, adversarial phase": (["--amp", "bf16", "--workers", "1", "--gan", "--gan-steps", "{steps}"], {}),
}


def images_per_second(run: Path, skip_windows: int = 1) -> float:
    with open(run / "log.csv") as handle:
        rates = [float(row["value"]) for row in csv.DictReader(handle) if row["name"] == "images_per_s"]
    steady = rates[skip_windows:] or rates
    return sum(steady) / len(steady)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of photos (one pool folder is enough)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="measure these variants only")
    args = parser.parse_args()
    log_every = max(5, args.steps // 4)
    for name in args.only or VARIANTS:
        extra, environment = VARIANTS[name]
        with tempfile.TemporaryDirectory() as folder:
            run = Path(folder) / "run"
            command = [
                sys.executable,
                "-m",
                "training.trainer.train",
                "--data",
                str(args.data),
                "--out",
                str(run),
                *BASE,
                "--max-steps",
                str(args.steps),
                "--log-every",
                str(log_every),
                *(flag.format(steps=args.steps) for flag in extra),
            ]
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **environment})
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                print(f"{name:40s} failed\n{done.stderr[-2000:]}")
                continue
            print(f"{name:40s} {images_per_second(run):6.1f} images/s in its later windows; whole run {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
