"""The reference matcher's settings, measured on the pool's held-out split (never on val_general).

Each setting is a set of gimp_plugin.guidance.reference constants; every photo of the split is colorized
automatically and with the ``same`` (the scene framed otherwise) and ``unrelated`` references of colorize-eval, and
the table prints the PSNR gain over the automatic result, the worst photo and the share of cells that carry a color.

    python bench/tune_reference.py --data ../shared/data/train --split training/data/val_split.txt --limit 60
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gimp_plugin.guidance import reference  # noqa: E402
from training.measure import evaluate  # noqa: E402

SETTINGS = {  # name -> constants of gimp_plugin.guidance.reference
    "framing only": {"FILL_SIMILARITY": 2.0},  # no similarity reaches 2: nothing is filled
    "fill 0.5 (shipped)": {"FILL_SIMILARITY": 0.5},
    "fill 0.6": {"FILL_SIMILARITY": 0.6},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--model", help="ONNX model (default: the shipped one)")
    parser.add_argument("--only", nargs="+", choices=SETTINGS, help="measure only these settings")
    options = parser.parse_args()
    argv = [
        "--data",
        options.data,
        "--split",
        options.split,
        "--limit",
        str(options.limit),
        "--reference-cases",
        "same",
        "unrelated",
    ]
    argv += ["--model", options.model] if options.model else []
    print("| setting | same scene | worst | cells | unrelated | worst | seconds |\n|---|---|---|---|---|---|---|")
    for name in options.only or SETTINGS:
        start = time.perf_counter()
        # Each setting from the shipped constants: one setting's constants must not leak into the next.
        with mock.patch.multiple(reference, **SETTINGS[name]):
            cases = evaluate.evaluate(evaluate.build_parser().parse_args(argv))["reference_cases"]
        same, other = cases["same"], cases["unrelated"]
        print(
            f"| {name} | {same['gain']:+.2f} | {same['worst']:+.2f} | {same['share']:.0%} | {other['gain']:+.2f} "
            f"| {other['worst']:+.2f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
