"""Hints (gimp_plugin/core/hints.py): RGBA hint images reduced in strips."""

from __future__ import annotations

import numpy as np

from gimp_plugin.core.hints import reduce_strips


def test_strips_never_ask_for_more_than_a_strip(monkeypatch):
    from gimp_plugin.core import hints

    image = np.zeros((1000, 40, 4), np.uint8)
    asked = []

    def strip_at(top, bottom):
        asked.append(bottom - top)
        return image[top:bottom]

    reduce_strips(strip_at, 1000, 40, (10, 4))
    assert max(asked) <= hints.HINT_STRIP_ROWS and sum(asked) == 1000
