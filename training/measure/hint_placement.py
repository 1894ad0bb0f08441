"""Where a simulated user puts hint dots, for ``colorize-eval --placement``: at random places (the baseline), at
the suggested points (``gimp_plugin.guidance.suggest``), or at the points an oracle that knows the true error would pick
(an upper bound for any uncertainty estimate). Each dot is a 3 x 3 patch of the truth's mean color there."""

from __future__ import annotations

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.render import prepare
from gimp_plugin.core.resample import area_resize
from gimp_plugin.guidance import suggest, uncertainty

PLACEMENTS = ("random", "suggested", "oracle")
PATCH = 3


def truth_dots(truth_lab: np.ndarray, points: list[tuple[int, int]], patch: int = PATCH) -> Hints:
    """A ``patch``-pixel square of the truth's mean ab at each (row, column) point."""
    height, width = truth_lab.shape[:2]
    ab, mask = np.zeros((2, height, width), np.float32), np.zeros((height, width), np.float32)
    for row, column in points:
        top = min(max(0, row - patch // 2), max(0, height - patch))
        left = min(max(0, column - patch // 2), max(0, width - patch))
        region = (slice(top, top + patch), slice(left, left + patch))
        ab[:, region[0], region[1]] = truth_lab[region][..., 1:].reshape(-1, 2).mean(axis=0)[:, None, None]
        mask[region] = 1
    return Hints(ab=ab, mask=mask)


class Placer:
    """The points of every placement for one photo; the analysis (two network passes) is made once."""

    def __init__(self, gray: np.ndarray, truth: np.ndarray, model, render_size: int | None, seed: int):
        self.truth_lab = color.rgb_to_lab(truth.astype(np.float32) / 255)
        self.analysis = uncertainty.analyse(prepare(gray, model, render_size=render_size), model)
        self.seed = seed
        size = self.analysis.lightness.shape
        true_ab = np.stack([area_resize(self.truth_lab[..., i], *size) for i in (1, 2)])
        self.error = np.hypot(*(self.analysis.ab - true_ab)).astype(np.float32)

    def hints(self, placement: str, count: int) -> Hints:
        if placement == "random":  # the hint sweep's own random dots (colorize-eval --hints), same seed
            generator = np.random.default_rng(self.seed)
            height, width = self.truth_lab.shape[:2]
            corners = [
                (generator.integers(0, max(1, height - PATCH)), generator.integers(0, max(1, width - PATCH)))
                for _ in range(count)
            ]
            points = [(int(top) + PATCH // 2, int(left) + PATCH // 2) for top, left in corners]
        else:
            target = self.error if placement == "oracle" else None
            points = suggest.suggest_from(self.analysis, count, target).points
        return truth_dots(self.truth_lab, points)
