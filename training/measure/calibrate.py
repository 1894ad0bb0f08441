"""`colorize-calibrate`: the chroma gain that gives a model's colors a chosen share of the truth's colorfulness.

A colorization network trained on a regression or an annealed-mean loss paints less color than the truth; the
export's ``--chroma-gain`` scales its ab back up (the model card's "Restraint"). This reads that gain off held-out
photos instead of guessing it: each photo goes through the real runtime pipeline, turned gray, at a few saturation
factors, and the factor whose mean colorfulness (Hasler & Suesstrunk) is ``--target`` x the truth's mean is found
by the secant method. The gain to export with is that factor times the gain already inside the file.

Calibrate on photos like the ones the model is for: ``training/data/val_scenes.txt`` holds the held-out split's
general-scene photos (the folders ``shared/data/SOURCES.md`` counts as scenes), which the whole split, with its
faces and pets, leaves short of color on streets and interiors. The default target is the release gate's bar, 0.8 x
the truth's colorfulness: the least color the gate allows. A few dozen
photos give a noisy mean, so the gain's spread over bootstrap resamples of the photos is printed beside it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gimp_plugin.core.errors import ColorizeError
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.session import ColorizationModel, load_model
from training.common import arguments
from training.common.errors import TrainingError
from training.data.photos import load_rgb
from training.measure.evaluate import MIN_TRUTH_CF, colorfulness, psnr, selected_photos, to_gray
from training.onnx_io.export_notes import chroma_gain

FIRST_SATURATIONS = (1.0, 1.15)  # the two factors the secant starts from
MAX_ROUNDS = 6


@dataclass(frozen=True)
class Photos:
    """The held-out photos, read again from disk at each reading (a few hundred large photos would not fit in
    memory at once), and each truth's colorfulness."""

    paths: list[Path]
    max_side: int | None
    truth_colorfulness: np.ndarray

    def each(self, label: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(truth, gray) of every photo, with a progress bar."""
        for path in tqdm(self.paths, desc=label, unit="img", leave=False):
            truth = load_rgb(path, self.max_side)
            yield truth, to_gray(truth)


@dataclass(frozen=True)
class Reading:
    saturation: float
    colorfulness_ratio: float  # mean model CF / mean truth CF
    psnr: float  # mean over the photos, dB
    colorfulness: np.ndarray  # each result's CF, for resampling the photos


def colorfulness_ratio(model_cf: np.ndarray, truth_cf: np.ndarray) -> float:
    return float(model_cf.mean() / max(truth_cf.mean(), 1e-9))


def load_photos(data: list[Path], split: Path | None, max_side: int | None = None) -> Photos:
    files = selected_photos(data, split, None)
    if not files:
        raise TrainingError(
            "no photos to calibrate on" + (f" (none of {split} is under the --data folders)" if split else "")
        )
    paths = [path for path, _key, _group in files]
    truth_cf = np.array([colorfulness(load_rgb(path, max_side)) for path in tqdm(paths, desc="Reading", leave=False)])
    if truth_cf.mean() < MIN_TRUTH_CF:
        raise TrainingError(
            f"the {len(paths)} photos are gray (mean colourfulness {truth_cf.mean():.2f}): there is "
            "no colour to calibrate against; give colour photos"
        )
    return Photos(paths, max_side, truth_cf)


def read_at(model: ColorizationModel, photos: Photos, saturation: float, render_size: int | None = None) -> Reading:
    model_cf, quality = [], []
    for truth, gray in photos.each(f"Saturation {saturation:.3f}"):
        result = colorize(gray, model, render_size=render_size, saturation=saturation)
        model_cf.append(colorfulness(result))
        quality.append(psnr(result, truth))
    ratio = colorfulness_ratio(np.array(model_cf), photos.truth_colorfulness)
    return Reading(saturation, ratio, float(np.mean(quality)), np.array(model_cf))


def find_saturation(read, target: float, tolerance: float = 0.002) -> list[Reading]:
    """Readings, the last at the saturation whose colorfulness ratio is within ``tolerance`` of ``target``.

    ``read(saturation) -> Reading``. Colorfulness grows with the saturation almost linearly (gamut clipping bends
    it a little), so the secant method settles in two or three readings."""
    readings = [read(saturation) for saturation in FIRST_SATURATIONS]
    while abs(readings[-1].colorfulness_ratio - target) > tolerance:
        if len(readings) >= MAX_ROUNDS:
            raise TrainingError(
                f"the colorfulness ratio did not settle at {target} within {MAX_ROUNDS} readings "
                f"(last {readings[-1].colorfulness_ratio:.3f})"
            )
        before, last = readings[-2], readings[-1]
        slope = (last.colorfulness_ratio - before.colorfulness_ratio) / (last.saturation - before.saturation)
        if not slope > 0:
            raise TrainingError("more saturation did not give more colorfulness: this model paints no color")
        readings.append(read(max(0.0, last.saturation + (target - last.colorfulness_ratio) / slope)))
    return readings


def saturation_for(readings: list[Reading], truth_cf: np.ndarray, target: float, photos: np.ndarray) -> float:
    """The saturation that gives ``photos`` (indices, repeats allowed) ``target`` x the truth's colorfulness, by a
    straight line through the readings (colorfulness is close to linear in the saturation)."""
    saturations = np.array([reading.saturation for reading in readings])
    ratios = np.array([colorfulness_ratio(reading.colorfulness[photos], truth_cf[photos]) for reading in readings])
    slope, intercept = np.polyfit(saturations, ratios, 1)
    return float((target - intercept) / slope) if slope > 0 else float("nan")


def bootstrap_saturations(
    readings: list[Reading], truth_cf: np.ndarray, target: float, draws: int = 2000, seed: int = 0
) -> np.ndarray:
    """The calibrated saturation of ``draws`` resamples of the photos (with replacement): how much the answer
    hangs on which photos were drawn."""
    generator = np.random.default_rng(seed)
    count = len(truth_cf)
    return np.array(
        [saturation_for(readings, truth_cf, target, generator.integers(0, count, count)) for _ in range(draws)]
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize-calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="ONNX model, as colorize-export wrote it")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="folders of held-out color photos")
    parser.add_argument("--split", type=Path, help="calibrate only on the photos this split file lists")
    parser.add_argument(
        "--target",
        type=float,
        default=0.8,
        help="share of the truth's colorfulness to reach (default 0.8: the gate's bar)",
    )
    parser.add_argument("--render-size", type=arguments.render_size, help="render size (default: the model's)")
    parser.add_argument(
        "--max-side",
        type=arguments.whole_number(8),
        help="shrink photos so their shorter side is at most this (default: their own size)",
    )
    parser.add_argument("--threads", type=arguments.threads, help="CPU threads (default: all cores)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.target < 2:
        parser.error("--target must be a share of the truth's colorfulness, above 0 and below 2")
    try:
        model = load_model(args.model, threads=args.threads)
        photos = load_photos(args.data, args.split, args.max_side)
        readings = find_saturation(lambda s: read_at(model, photos, s, args.render_size), args.target)
    except (TrainingError, ColorizeError) as error:
        print(f"colorize-calibrate: {error}", file=sys.stderr)
        return 1
    for reading in readings:
        print(
            f"saturation {reading.saturation:.4f}: colorfulness {reading.colorfulness_ratio:.4f} x truth, "
            f"PSNR {reading.psnr:.2f} dB"
        )
    file_gain = chroma_gain(model.info.trained_on or "")
    gain = round(file_gain * readings[-1].saturation, 2)
    resampled = bootstrap_saturations(readings, photos.truth_colorfulness, args.target)
    low, high = file_gain * np.nanpercentile(resampled, (5, 95))
    print(
        f"{len(photos.paths)} photos; the file's gain {file_gain:g}: export with --chroma-gain {gain:g} "
        f"(5-95 % of photo resamples: {low:.2f} to {high:.2f})"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
