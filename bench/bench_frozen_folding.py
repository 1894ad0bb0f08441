"""A training step with the frozen encoder run through its batch-norm-folded copy, against the modules themselves.

The real `colorize-train` loop (the shipped model's settings, or those of --settings) runs in this process; its
steps alternate between the two ways of running the frozen encoder and classifier (``FusionUNet._frozen_modules``),
so that a machine whose speed drifts slows both alike. Prints the median time of a training step each way.

Run: .venv/bin/python bench/bench_frozen_folding.py --data ../shared/data/train/sun15 [--steps 120]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.networks.generators import FusionUNet  # noqa: E402
from training.trainer import train  # noqa: E402

FOLDED, UNFOLDED = FusionUNet._frozen_modules, FusionUNet.modules_themselves


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of photos (one pool folder is enough)")
    parser.add_argument("--settings", type=Path, default=ROOT / "docs" / "recipe" / "stage16.json")
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"folded copy": [], "the modules themselves": []}
    step_once = train.Trainer.train_step

    def alternating_step(trainer, batch):
        name = "folded copy" if trainer.step % 2 else "the modules themselves"
        FusionUNet._frozen_modules = FOLDED if name == "folded copy" else UNFOLDED
        started = time.perf_counter()
        logged = step_once(trainer, batch)
        if trainer.step > 10:  # after the first steps' allocations and the copy's first folding
            times[name].append(time.perf_counter() - started)
        return logged

    train.Trainer.train_step = alternating_step
    settings = json.loads(args.settings.read_text())
    settings.update(
        data=[str(args.data)],
        folder_share=[],
        val_split=None,
        time_limit=None,
        max_steps=args.steps,
        val_count=16,
        sample_every=100000,
        checkpoint_every=100000,
    )
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "settings.json").write_text(json.dumps(settings))
        if train.main(["--settings", str(Path(folder) / "settings.json"), "--out", str(Path(folder) / "run")]) != 0:
            return 1
    base = statistics.median(times["the modules themselves"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:24s} {median * 1000:6.0f} ms a step ({base / median:.2f}x), median of {len(values)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
