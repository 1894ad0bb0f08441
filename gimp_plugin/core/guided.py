"""Edge-aware chroma: the network's a*, b* follow the photo's own edges instead of bleeding across them.

The network sees the photo at the render size, so on a large photo each of its pixels covers many photo pixels, and
plain bilinear upsampling smears colour a network pixel or more past an edge (a red coat over the wall behind it).
Joint bilateral upsampling (Kopf et al. 2007) weighs the four render pixels around each pixel by their bilinear
weight times how close their L* is to the pixel's own L*: across an edge the colour comes from the pixel's side.
Where L* is even it is exactly bilinear, so flat areas and hint dots keep their colour. It runs at an intermediate
size (``guide_shape``), from which the result is upsampled to full size as before.
"""

from __future__ import annotations

import numpy as np

from gimp_plugin.core.render import render_shape
from gimp_plugin.core.resample import bilinear_taps

SIGMA = 16.0  # L* units: render pixels this much lighter or darker than a pixel weigh exp(-1/2) as much


def guide_shape(shape: tuple[int, int], render: tuple[int, int]) -> tuple[int, int] | None:
    """The size chroma is refined at (long side: twice the render's, or a quarter of the photo's when larger,
    never above the photo's own), or None when the photo is no larger than the render."""
    longest, render_longest = max(shape), max(render)
    target = min(longest, max(2 * render_longest, longest // 4))
    return render_shape(*shape, target) if target > render_longest else None


def refine(
    ab_small: np.ndarray, lightness_small: np.ndarray, lightness_guide: np.ndarray, sigma: float = SIGMA
) -> np.ndarray:
    """ab [2, h, w] at the render size -> ab [2, H', W'] at the size of ``lightness_guide`` (L* there); L* at the
    render size (``lightness_small``, as the network saw it) tells which render pixels lie on a pixel's side."""
    (height, width), (small_h, small_w) = lightness_guide.shape, lightness_small.shape
    top, bottom, down = bilinear_taps(small_h, height)
    left, right, across = bilinear_taps(small_w, width)
    fine = lightness_guide.astype(np.float32)[None]
    taps = [(top, 1 - down), (bottom, down)]
    columns = [(left, 1 - across), (right, across)]
    total = np.zeros((1, height, width), np.float32)
    refined = np.zeros((2, height, width), np.float32)
    scale = np.float32(-0.5 / sigma**2)
    for rows, row_weight in taps:
        for cols, col_weight in columns:
            neighbour = lightness_small[np.ix_(rows, cols)].astype(np.float32)[None]
            weight = np.exp(scale * (neighbour - fine) ** 2)
            weight += np.float32(1e-4)  # all four across an edge: bilinear, not a division by zero
            weight *= row_weight[:, None] * col_weight[None, :]
            total += weight
            refined += weight * ab_small[:, rows][:, :, cols].astype(np.float32)
    refined /= total
    return refined
