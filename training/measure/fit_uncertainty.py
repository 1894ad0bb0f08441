"""Fit the runtime's expected-error formula (``gimp_plugin.guidance.uncertainty.ERROR_FIT``) on photos of the
training pool.

The runtime's uncertainty is the distance between the predictions for a photo and for its mirror image; this fit
turns it, with the predicted chroma and the lightness, into an expected ab error by least squares against the true
error of the shipped model, on pool photos outside the held-out split (never on val_general). Run:

    .venv/bin/python -m training.measure.fit_uncertainty --data ../shared/data/train --split training/data/val_split.txt

and copy the printed tuple into gimp_plugin/guidance/uncertainty.py when the model changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.render import prepare
from gimp_plugin.core.resample import area_resize
from gimp_plugin.core.session import load_model
from gimp_plugin.guidance import uncertainty
from training.data.photos import find_files, load_rgb, read_split
from training.measure.evaluate import to_gray


def features(analysis: uncertainty.Analysis, distance: np.ndarray) -> np.ndarray:
    """[pixels, 7]: the terms of ERROR_FIT, in its order."""
    level = analysis.lightness / 100
    terms = [
        np.ones_like(distance),
        distance,
        np.sqrt(distance),
        np.hypot(*analysis.ab),
        level,
        level**2,
        uncertainty.local_variation(analysis.lightness),
    ]
    return np.stack(terms, axis=-1).reshape(-1, len(terms))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fit_uncertainty", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="the training pool's folders")
    parser.add_argument("--split", type=Path, help="held-out photos to leave out of the fit")
    parser.add_argument("--model", type=Path, help="ONNX model (default: the shipped one)")
    parser.add_argument("--every", type=int, default=150, help="use every Nth photo")
    parser.add_argument("--pixels", type=int, default=2000, help="pixels drawn from each photo")
    args = parser.parse_args(argv)
    held_out = read_split(args.split) if args.split else set()
    files = [entry for entry in find_files(args.data) if entry[1] not in held_out][:: args.every]
    model, generator = load_model(args.model), np.random.default_rng(0)
    inputs, targets = [], []
    for path, _key, _group in files:
        truth = load_rgb(path, None)
        analysis = uncertainty.analyse(prepare(to_gray(truth), model), model)
        _, distance = uncertainty.mirror_distance(model, analysis.lightness, None)
        lab = color.rgb_to_lab(truth.astype(np.float32) / 255)
        true_ab = np.stack([area_resize(lab[..., i], *analysis.lightness.shape) for i in (1, 2)])
        error = np.hypot(*(analysis.ab - true_ab)).ravel()
        drawn = generator.choice(error.size, min(args.pixels, error.size), replace=False)
        inputs.append(features(analysis, distance)[drawn])
        targets.append(error[drawn])
    x, y = np.concatenate(inputs), np.concatenate(targets)
    weights, *_ = np.linalg.lstsq(x, y, rcond=None)
    print(f"{len(files)} photos, {len(y)} pixels")
    print(
        f"correlation with the true error: mirror distance {np.corrcoef(x[:, 1], y)[0, 1]:.3f}, "
        f"the fit {np.corrcoef(x @ weights, y)[0, 1]:.3f}"
    )
    print("ERROR_FIT = (" + ", ".join(f"{w:.4g}" for w in weights) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
