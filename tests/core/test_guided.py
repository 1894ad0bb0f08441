"""Edge-aware chroma (gimp_plugin/core/guided.py): bilinear where L* is even, each side's colour kept at an edge."""

from __future__ import annotations

import numpy as np

from gimp_plugin.core import guided
from gimp_plugin.core.resample import area_resize, bilinear_resize


def test_where_lightness_is_even_it_is_exactly_bilinear():
    rng = np.random.default_rng(0)
    ab = rng.normal(0, 30, (2, 12, 16)).astype(np.float32)
    refined = guided.refine(ab, np.full((12, 16), 50, np.float32), np.full((48, 64), 50, np.float32))
    np.testing.assert_allclose(refined, bilinear_resize(ab, 48, 64), atol=1e-3)


def test_colour_stays_on_its_side_of_an_edge():
    """A red coat (dark, left) against a gray wall (light, right), the edge between two render pixels' centres."""
    lightness = np.full((64, 64), 80, np.float32)
    lightness[:, :29] = 30
    small = area_resize(lightness, 8, 8)
    ab = np.zeros((2, 8, 8), np.float32)
    ab[0, :, small[0] < 55] = 60  # a* of the render pixels that are mostly coat
    plain, refined = bilinear_resize(ab, 64, 64), guided.refine(ab, small, lightness)
    wall = slice(29, 36)  # the wall's first pixels, where bilinear chroma bleeds
    assert refined[0, :, wall].mean() < 0.4 * plain[0, :, wall].mean()
    coat = slice(22, 29)
    assert refined[0, :, coat].mean() > plain[0, :, coat].mean(), "and the coat keeps its colour up to its edge"


def test_the_refined_size_lies_between_the_render_and_the_photo():
    assert guided.guide_shape((288, 384), (288, 384)) is None, "not larger than the render: nothing to do"
    assert guided.guide_shape((300, 400), (288, 384)) == (300, 400), "a little larger: refined at its own size"
    assert guided.guide_shape((768, 1024), (288, 384)) == (576, 768)
    assert guided.guide_shape((3000, 4000), (288, 384)) == (750, 1000), "a quarter of a 12 MP photo"
