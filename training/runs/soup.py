"""Average the weights of runs of one network (a "model soup"): ``python -m training.runs.soup RUN_A RUN_B -o RUN``.

Each run's exported weights (the EMA) are averaged, parameter by parameter; the new run folder holds a ``last.pt``
(the first run's checkpoint with the averaged weights) and its ``config.json``, ready for ``colorize-export RUN``.
Stages 12 and 14 averaged this way are the shipped model (docs/model-card.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from training.common.errors import TrainingError
from training.runs.checkpoint import find, load, save_atomic


def average(runs: list[Path]) -> dict:
    """The first run's checkpoint, its EMA weights replaced by the mean of every run's."""
    checkpoints = [load(find(run)) for run in runs]
    first = checkpoints[0]
    for other, run in zip(checkpoints[1:], runs[1:], strict=True):
        if other["ema"].keys() != first["ema"].keys():
            raise TrainingError(f"{run} holds another network than {runs[0]}: their weights cannot be averaged")
    for name, value in first["ema"].items():
        if value.is_floating_point():
            first["ema"][name] = sum(c["ema"][name] for c in checkpoints) / len(checkpoints)
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.runs.soup", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (or checkpoint files) of one network")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the new run folder")
    args = parser.parse_args(argv)
    try:
        if len(args.runs) < 2:
            raise TrainingError("give two runs or more")
        if args.out.exists():
            raise TrainingError(f"{args.out} exists: give a new folder")
        soup = average(args.runs)
        args.out.mkdir(parents=True)
        save_atomic(soup, args.out / "last.pt")
        first = args.runs[0] if args.runs[0].is_dir() else args.runs[0].parent
        if (first / "config.json").is_file():
            shutil.copy(first / "config.json", args.out / "config.json")
    except TrainingError as error:
        print(f"training.runs.soup: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out / 'last.pt'}: the average of {len(args.runs)} runs")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
