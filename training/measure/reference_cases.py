"""The references a simulated user brings, for ``colorize-eval --reference-cases`` (issue 24's three cases):

- ``same``: the true color photo itself, mirrored, cropped to a 70 % window off center (its bottom-right part) and
  scaled to 60 %: what a second photo of the same place looks like to the matcher;
- ``kind``: another photo of the same folder (the next one in name order);
- ``unrelated``: a photo of another folder (the folders in name order, the photo at the same position).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CASES = ("same", "kind", "unrelated")
WINDOW, SCALE = 0.7, 0.6


def same_scene(truth: np.ndarray) -> np.ndarray:
    height, width = truth.shape[:2]
    window = truth[height - round(height * WINDOW) :, width - round(width * WINDOW) :, :3][:, ::-1]
    size = (max(1, round(window.shape[1] * SCALE)), max(1, round(window.shape[0] * SCALE)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(window)).resize(size, Image.Resampling.LANCZOS))


def reference_path(case: str, path: Path, group: str, by_group: dict[str, list[Path]]) -> Path:
    """The photo a ``kind`` or ``unrelated`` reference is taken from, by a fixed rule."""
    if case == "kind":
        photos = by_group[group]
        return photos[(photos.index(path) + 1) % len(photos)]
    others = sorted(name for name in by_group if name != group)
    if not others:
        raise ValueError("an unrelated reference needs photos in a second folder")
    position = by_group[group].index(path)
    other = by_group[others[position % len(others)]]
    return other[position % len(other)]
