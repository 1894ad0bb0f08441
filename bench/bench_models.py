"""The network alone at the default render size, for two or more models side by side in one run (their runs
interleaved, so that a busy machine slows them alike): what a new model costs beside the shipped one.

Run: .venv/bin/python bench/bench_models.py OLD.onnx NEW.onnx [--repeats 40] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import interleaved_medians  # noqa: E402  (bench/timing.py)

from gimp_plugin.model import ColorizationModel  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    models = [ColorizationModel(path, device="cpu", threads=args.threads) for path in args.models]
    side = models[0].info.default_render_size
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 1, side * 3 // 4, side)).astype(np.float32)
    medians = interleaved_medians(
        {str(path): partial(model.predict, lightness) for path, model in zip(args.models, models, strict=True)},
        args.repeats,
    )
    first = medians[str(args.models[0])]
    print(f"network alone at {side} x {side * 3 // 4}, {args.threads} threads, median of {args.repeats}:")
    for path, median in medians.items():
        print(f"  {path}: {median * 1000:.1f} ms ({median / first:.2f} x the first)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
