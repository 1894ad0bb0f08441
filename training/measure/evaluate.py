"""`colorize-eval`: quality of an ONNX model on color photos turned gray, through the real runtime pipeline.

Metrics, each beside the gray baseline (a* = b* = 0) on the same images: PSNR on 8-bit RGB, colorfulness CF
(Hasler & Suesstrunk 2003) and its distance to the truth's, AuC (share of pixels whose ab error is within t,
averaged over t = 0..150) and the rebalanced AuC (Zhang et al. 2016: each pixel weighted by 1 / the prior of its true
ab, so a rare saturated colour counts as much as the common grays). ``--hints K ...`` sweeps the number of hint
points drawn from the truth.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from gimp_plugin.cli.terminal import printable
from gimp_plugin.core import color
from gimp_plugin.core.errors import ColorizeError, InputError
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.pipeline import colorize
from gimp_plugin.core.render import prepare
from gimp_plugin.core.session import load_model
from gimp_plugin.guidance import reference
from training.common import arguments
from training.common.errors import TrainingError
from training.data.photos import find_files, load_rgb, read_split
from training.measure.hint_placement import PLACEMENTS, Placer
from training.measure.reference_cases import CASES, reference_path, same_scene

MIN_TRUTH_CF = 1.0  # mean colourfulness below which photos are gray, and CF / truth means nothing
PSNR_CAP = 100.0  # identical images: PSNR is infinite; reported as this
AUC_THRESHOLDS = np.arange(0, 151, dtype=np.float32)
# The rebalanced AuC's prior: the evaluated set's true a*, b* in PRIOR_BIN-wide bins over +-PRIOR_LIMIT, smoothed by
# a Gaussian of PRIOR_SIGMA bins along each axis and floored at PRIOR_FLOOR (Zhang et al. 2016, section 3.1).
PRIOR_BIN, PRIOR_LIMIT, PRIOR_SIGMA, PRIOR_FLOOR = 10.0, 110.0, 1.0, 1e-6
PRIOR_SIDE = round(2 * PRIOR_LIMIT / PRIOR_BIN)  # 22 bins along a*, 22 along b*


def psnr(result: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB between two 8-bit RGB images, capped at PSNR_CAP."""
    mse = np.mean((result.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * np.log10(255.0**2 / mse))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk colorfulness of an 8-bit RGB image: sigma_rgyb + 0.3 mu_rgyb."""
    red, green, blue = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = red - green, 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_auc(result: np.ndarray, truth: np.ndarray) -> float:
    """Area under the curve of (share of pixels with ab error <= t) for t = 0..150, normalised to [0, 1]."""
    lab_result = color.rgb_to_lab(result.astype(np.float32) / 255)
    lab_truth = color.rgb_to_lab(truth.astype(np.float32) / 255)
    error = np.hypot(*(lab_result[..., i] - lab_truth[..., i] for i in (1, 2))).ravel()
    error.sort()
    return float(np.mean(np.searchsorted(error, AUC_THRESHOLDS, side="right") / error.size))


@dataclass(frozen=True)
class ErrorCounts:
    """One image's ab errors, kept small enough to weigh later by a prior not yet known: for each true-ab bin that
    occurs, how many of its pixels have an error within each threshold t (cumulative over AUC_THRESHOLDS)."""

    bins: np.ndarray  # [B] flat indices of the true-ab bins present
    within: np.ndarray  # [B, T] pixels of that bin with error <= t
    total: np.ndarray  # [B] all pixels of that bin


def ab_error_counts(result: np.ndarray, truth: np.ndarray) -> ErrorCounts:
    """The ab errors of an 8-bit RGB result against the truth, binned by the truth's ab (see ErrorCounts)."""
    lab_result = color.rgb_to_lab(result.astype(np.float32) / 255)
    lab_truth = color.rgb_to_lab(truth.astype(np.float32) / 255)
    error = np.hypot(*(lab_result[..., i] - lab_truth[..., i] for i in (1, 2))).ravel()
    true_bin = truth_bins(lab_truth[..., 1].ravel(), lab_truth[..., 2].ravel())
    # error <= t (t an integer) exactly when ceil(error) <= t; errors past the last threshold go to one extra column
    step = np.minimum(np.ceil(error), len(AUC_THRESHOLDS)).astype(np.int64)
    bins, inverse = np.unique(true_bin, return_inverse=True)
    table = np.bincount(inverse * (len(AUC_THRESHOLDS) + 1) + step, minlength=len(bins) * (len(AUC_THRESHOLDS) + 1))
    table = table.reshape(len(bins), len(AUC_THRESHOLDS) + 1)
    return ErrorCounts(bins, np.cumsum(table, axis=1)[:, :-1].astype(np.int64), table.sum(axis=1))


def truth_bins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flat index (a row, b column) of each pixel's true ab in the prior's PRIOR_SIDE x PRIOR_SIDE grid."""

    def index(values: np.ndarray) -> np.ndarray:
        return np.clip(((values + PRIOR_LIMIT) // PRIOR_BIN).astype(np.int64), 0, PRIOR_SIDE - 1)

    return index(a) * PRIOR_SIDE + index(b)


def ab_prior(counts: list[ErrorCounts]) -> np.ndarray:
    """[PRIOR_SIDE**2] the prior of the true ab over the images' pixels: a smoothed, floored distribution."""
    histogram = np.zeros(PRIOR_SIDE * PRIOR_SIDE)
    for image in counts:
        np.add.at(histogram, image.bins, image.total)
    histogram = histogram.reshape(PRIOR_SIDE, PRIOR_SIDE) / max(histogram.sum(), 1)
    offsets = np.arange(PRIOR_SIDE)
    gaussian = np.exp(-((offsets[:, None] - offsets[None, :]) ** 2) / (2 * PRIOR_SIGMA**2))
    gaussian /= gaussian.sum(axis=1, keepdims=True)  # each bin's mass is spread, none lost past the grid's edge
    smoothed = gaussian.T @ histogram @ gaussian
    return np.maximum(smoothed.ravel(), PRIOR_FLOOR)


def rebalanced_auc(image: ErrorCounts, prior: np.ndarray) -> float:
    """AuC over AUC_THRESHOLDS with each pixel weighted by 1 / prior of its true ab bin, in [0, 1]."""
    weights = 1.0 / prior[image.bins]
    return float(np.mean(weights @ image.within / (weights @ image.total)))


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """The photo as a gray 8-bit image with the same L* (what a B&W print of it would be)."""
    lightness = color.rgb_to_lightness(rgb.astype(np.float32) / 255)
    gray = color.linear_to_srgb(color.lightness_to_luminance(lightness))
    return np.round(gray * 255).astype(np.uint8)


def gray_baseline(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def random_hints(truth: np.ndarray, count: int, seed: int, patch: int = 3) -> Hints | None:
    """``count`` hint points at random places, each a ``patch``-pixel square holding the truth's mean ab there."""
    if count == 0:
        return None
    generator = np.random.default_rng(seed)
    height, width = truth.shape[:2]
    lab = color.rgb_to_lab(truth.astype(np.float32) / 255)
    ab, mask = np.zeros((2, height, width), np.float32), np.zeros((height, width), np.float32)
    for _ in range(count):
        top, left = generator.integers(0, max(1, height - patch)), generator.integers(0, max(1, width - patch))
        region = (slice(top, top + patch), slice(left, left + patch))
        ab[:, region[0], region[1]] = lab[region][..., 1:].reshape(-1, 2).mean(axis=0)[:, None, None]
        mask[region] = 1
    return Hints(ab=ab, mask=mask)


def measure(result: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"psnr": psnr(result, truth), "cf": colorfulness(result), "auc": ab_auc(result, truth)}


def summarise(rows: list[dict]) -> dict[str, float]:
    """Means over images; delta_cf compares mean CF with the truth's mean CF."""
    if not rows:
        return {}
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0] if key != "group"}
    for prefix in ("model", "gray"):
        mean[f"{prefix}_delta_cf"] = abs(mean[f"{prefix}_cf"] - mean["truth_cf"])
    return mean


def contact_sheet(triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path, size: int = 160) -> None:
    """Rows of gray | model | truth thumbnails."""
    sheet = Image.new("RGB", (3 * size, len(triples) * size), "white")
    for row, images in enumerate(triples):
        for column, pixels in enumerate(images):
            thumb = Image.fromarray(pixels)
            thumb.thumbnail((size, size))
            sheet.paste(thumb, (column * size + (size - thumb.width) // 2, row * size + (size - thumb.height) // 2))
    sheet.save(path)


def selected_photos(data: list[Path], split: Path | None, limit: int | None):
    """(path, key, group) of the photos under ``data``, only those ``split`` lists when given, at most ``limit``."""
    files = find_files(data)
    if split is not None:
        keys = read_split(split)
        files = [entry for entry in files if entry[1] in keys]
    return files[:limit] if limit else files


TABLE_LEGEND = (
    "PSNR: dB on 8-bit RGB, higher is closer to the truth. AuC: the share of pixels whose a*b* error is within t, "
    "averaged over t = 0..150 (1 is perfect). Rebalanced AuC: the same with each pixel weighted by the rarity of its "
    "true colour in these photos, so vivid colours count as much as the common grays. CF: colourfulness (Hasler & "
    "Suesstrunk); CF / truth below 1 is duller than the photos, above 1 louder. gray: the photo left gray."
)


def markdown_table(overall: dict, groups: dict[str, dict]) -> str:
    """Per folder and overall: the model beside gray (PSNR, AuC: higher is better) and colorfulness beside truth."""
    lines = [
        "| images | set | PSNR model | PSNR gray | PSNR gain | AuC model | AuC gray | AuC gain | rebalanced AuC model "
        "| rebalanced AuC gray | rebalanced AuC gain | CF model | CF truth | CF / truth |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, stats in [*sorted(groups.items()), ("all", overall)]:
        lines.append(
            f"| {stats['count']:.0f} | {name} | {stats['model_psnr']:.2f} | {stats['gray_psnr']:.2f} | "
            f"{stats['model_psnr'] - stats['gray_psnr']:+.2f} | {stats['model_auc']:.4f} | {stats['gray_auc']:.4f} | "
            f"{stats['model_auc'] - stats['gray_auc']:+.4f} | {stats['model_rauc']:.4f} | {stats['gray_rauc']:.4f} | "
            f"{stats['model_rauc'] - stats['gray_rauc']:+.4f} | {stats['model_cf']:.1f} | {stats['truth_cf']:.1f} | "
            f"{_share_of_truth(stats['model_cf'], stats['truth_cf'])} |"
        )
    return "\n".join(lines)


def _share_of_truth(model_cf: float, truth_cf: float) -> str:
    """CF / truth, or why there is none: gray photos have no colourfulness to share (the ratio would be noise)."""
    return f"{model_cf / truth_cf:.2f}" if truth_cf >= MIN_TRUTH_CF else "n/a (gray photos)"


def placement_table(placed: dict[str, dict[str, float]], automatic: float) -> str:
    """PSNR gain over the automatic result per placement and hint count, and suggested against random."""
    counts = list(next(iter(placed.values())))
    lines = ["| hint points | " + " | ".join(counts) + " |", "|---|" + "---|" * len(counts)]
    for name, by_count in placed.items():
        lines.append(f"| {name} | " + " | ".join(f"{by_count[c] - automatic:+.2f}" for c in counts) + " |")
    if "random" in placed and "suggested" in placed:
        ratios = [(placed["suggested"][c] - automatic) / max(1e-9, placed["random"][c] - automatic) for c in counts]
        lines.append("| suggested / random | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    return "\n".join(lines)


def _with_reference(case, truth, gray, model, args, path, group, by_group) -> tuple[np.ndarray, float]:
    """The photo colorized with the ``case`` reference (issue 24's cases), and the share of its cells matched."""
    photo = same_scene(truth) if case == "same" else load_rgb(reference_path(case, path, group, by_group), None)
    try:
        prepared = reference.prepare_reference(photo, model, args.render_size)
    except InputError:  # too small or without color: as a user would, colorize without it
        carried, share = None, 0.0
    else:
        carried, _, share = reference.hints_for(prepare(gray, model, render_size=args.render_size), model, [prepared])
    result = colorize(gray, model, render_size=args.render_size, saturation=args.saturation, hints=carried)
    return result, share


def _reference_summary(items: list[dict]) -> dict:
    gains = [item["psnr"] - item["automatic"] for item in items]

    def mean(key: str) -> float:
        return float(np.mean([item[key] for item in items]))

    return {
        "psnr": mean("psnr"),
        "auc": mean("auc"),
        "gain": float(np.mean(gains)),
        "worst": float(min(gains)),
        "share": mean("share"),
        "count": len(items),
    }


def reference_table(cases: dict[str, dict], overall: dict) -> str:
    """Per reference case: PSNR and AuC beside the automatic result, the worst photo, the share of cells matched."""
    lines = [
        "| reference | PSNR | gain over automatic | worst photo | AuC | AuC gain | cells matched |",
        "|---|---|---|---|---|---|---|",
        f"| none (automatic) | {overall['model_psnr']:.2f} | | | {overall['model_auc']:.4f} | | |",
    ]
    for case, stats in cases.items():
        auc_gain = stats["auc"] - overall["model_auc"]
        lines.append(
            f"| {case} | {stats['psnr']:.2f} | {stats['gain']:+.2f} | {stats['worst']:+.2f} | "
            f"{stats['auc']:.4f} | {auc_gain:+.4f} | {stats['share']:.1%} |"
        )
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    model = load_model(args.model, threads=args.threads)
    files = selected_photos(args.data, args.split, args.limit)
    if not files:
        raise TrainingError("no images found")
    rows, sweep, sheet, skipped, errors = [], defaultdict(list), [], [], []
    placed = defaultdict(lambda: defaultdict(list))
    referenced = defaultdict(list)
    by_group = defaultdict(list)
    for entry_path, _entry_key, entry_group in files:
        by_group[entry_group].append(entry_path)
    for index, (path, _key, group) in enumerate(tqdm(files, desc="Evaluating", unit="img")):
        try:
            truth = load_rgb(path, args.max_side)
        except Exception as error:  # any decoder failure: this photo is left out, the others are measured
            skipped.append(str(path))
            tqdm.write(
                printable(f"colorize-eval: skipped {path}: cannot read it as an image ({error})"), file=sys.stderr
            )
            continue
        gray = to_gray(truth)
        run = partial(colorize, gray, model, render_size=args.render_size, saturation=args.saturation)
        result, baseline = run(), gray_baseline(gray)
        row = {"group": group, "count": 1, **{f"truth_{k}": v for k, v in {"cf": colorfulness(truth)}.items()}}
        row.update({f"model_{k}": v for k, v in measure(result, truth).items()})
        row.update({f"gray_{k}": v for k, v in measure(baseline, truth).items()})
        rows.append(row)
        errors.append((ab_error_counts(result, truth), ab_error_counts(baseline, truth)))
        for count in args.hints:
            hinted = result if count == 0 else run(hints=random_hints(truth, count, seed=index))
            sweep[count].append(psnr(hinted, truth))
        if args.reference_cases:
            for case in args.reference_cases:
                result_with, share = _with_reference(case, truth, gray, model, args, path, group, by_group)
                referenced[case].append(
                    {
                        "psnr": psnr(result_with, truth),
                        "auc": ab_auc(result_with, truth),
                        "share": share,
                        "automatic": row["model_psnr"],
                    }
                )
        if args.placement:
            placer = Placer(gray, truth, model, args.render_size, seed=index)
            for placement, count in ((p, c) for p in args.placement for c in args.placement_counts):
                placed[placement][count].append(psnr(run(hints=placer.hints(placement, count)), truth))
        if len(sheet) < args.sheet_rows and index % max(1, len(files) // args.sheet_rows) == 0:
            sheet.append((baseline, result, truth))
    if not rows:
        raise TrainingError(f"none of the {len(files)} photos could be read")
    prior = ab_prior([truth_counts for _, truth_counts in errors])  # the same pixels' truth, whichever result
    for row, (model_counts, gray_counts) in zip(rows, errors, strict=True):
        row["model_rauc"], row["gray_rauc"] = rebalanced_auc(model_counts, prior), rebalanced_auc(gray_counts, prior)
    groups = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    report = {
        "model": str(model.path),
        "render_size": args.render_size or model.info.default_render_size,
        "saturation": args.saturation,
        "overall": {**summarise(rows), "count": len(rows)},
        "groups": {name: {**summarise(items), "count": len(items)} for name, items in groups.items()},
        "hint_sweep_psnr": {str(k): float(np.mean(v)) for k, v in sorted(sweep.items())},
        "skipped": skipped,
        "placement_psnr": {
            name: {str(k): float(np.mean(v)) for k, v in sorted(by_count.items())} for name, by_count in placed.items()
        },
    }
    report["markdown"] = markdown_table(report["overall"], report["groups"]) + "\n\n" + TABLE_LEGEND
    if placed:
        report["markdown"] += "\n\n" + placement_table(report["placement_psnr"], report["overall"]["model_psnr"])
    if referenced:
        report["reference_cases"] = {case: _reference_summary(items) for case, items in referenced.items()}
        report["markdown"] += "\n\n" + reference_table(report["reference_cases"], report["overall"])
    if skipped:
        report["markdown"] += f"\n\n{len(skipped)} unreadable photo(s) left out: {', '.join(skipped)}"
    if sweep:
        report["markdown"] += "\n\n| hint points | " + " | ".join(report["hint_sweep_psnr"]) + " |\n|---|"
        report["markdown"] += "---|" * len(sweep) + "\n| PSNR (dB) | "
        report["markdown"] += " | ".join(f"{v:.2f}" for v in report["hint_sweep_psnr"].values()) + " |"
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        (args.report / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.report / "metrics.md").write_text(report["markdown"] + "\n")
        contact_sheet(sheet, args.report / "contact_sheet.png")
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorize-eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="ONNX model (default: the shipped one)")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="folders of color photos")
    parser.add_argument("--split", type=Path, help="evaluate only the photos listed in this split file")
    parser.add_argument("--report", type=Path, help="folder for metrics.md, metrics.json and contact_sheet.png")
    parser.add_argument(
        "--hints",
        type=arguments.whole_number(0, 10_000),
        nargs="*",
        default=[],
        help="hint counts to sweep, e.g. 0 1 2 5 10 20 50",
    )
    parser.add_argument(
        "--placement",
        nargs="+",
        choices=PLACEMENTS,
        default=[],
        help="simulate a user who puts the truth's color at hint points placed at random, at the "
        "suggested points, or where an oracle that knows the true error would",
    )
    parser.add_argument(
        "--reference-cases",
        nargs="+",
        choices=CASES,
        default=[],
        help="colorize each photo with a reference: the same scene framed otherwise, another photo "
        "of its folder, or a photo of another folder (needs a contract-2 model)",
    )
    parser.add_argument(
        "--placement-counts",
        type=arguments.whole_number(1, 10_000),
        nargs="+",
        default=[1, 3, 5, 10, 20],
        help="hint counts for --placement (default: 1 3 5 10 20)",
    )
    parser.add_argument("--render-size", type=arguments.render_size, help="render size (default: the model's)")
    parser.add_argument(
        "--saturation", type=arguments.saturation, default=1.0, help="the runtime's saturation factor (default: 1)"
    )
    parser.add_argument(
        "--max-side",
        type=arguments.whole_number(8),
        help="shrink photos so their shorter side is at most this (default: own size)",
    )
    parser.add_argument("--limit", type=arguments.whole_number(1), help="evaluate at most this many photos")
    parser.add_argument("--threads", type=arguments.threads, help="CPU threads (default: all cores)")
    parser.add_argument(
        "--sheet-rows",
        type=arguments.whole_number(1, 1000),
        default=12,
        help="photos in the --report contact sheet (default: 12)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        report = evaluate(parser.parse_args(argv))
    except (TrainingError, ColorizeError) as error:
        print(f"colorize-eval: {error}", file=sys.stderr)
        return 1
    print(report["markdown"])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
