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

from gimp_plugin.core.session import ColorizationModel  # noqa: E402


def compare_networks(
    paths: dict[str, Path], threads: int, repeats: int, baseline: str, side: int | None = None
) -> None:
    """Time each model's network on one gray photo ``side`` px wide (3:4; default: the first model's render size),
    interleaved, and print each beside the first of ``paths`` (called ``baseline`` in the printout)."""
    models = {name: ColorizationModel(path, device="cpu", threads=threads) for name, path in paths.items()}
    side = side or next(iter(models.values())).info.default_render_size
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 1, side * 3 // 4, side)).astype(np.float32)
    medians = interleaved_medians({name: partial(model.predict, lightness) for name, model in models.items()}, repeats)
    first = medians[next(iter(paths))]
    print(f"network alone at {side} x {side * 3 // 4}, {threads} threads, median of {repeats}:")
    for name, median in medians.items():
        print(f"  {name}: {median * 1000:.1f} ms ({median / first:.2f} x {baseline})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    compare_networks({str(path): path for path in args.models}, args.threads, args.repeats, "the first")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
