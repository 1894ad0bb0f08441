"""Argument types the training tools share: numbers checked when parsed, so a bad value is refused in words before
any work (not a traceback after a whole evaluation)."""

from __future__ import annotations

import argparse
import os

from gimp_plugin.core.contract import MAX_RENDER_SIZE

MIN_RENDER_SIZE = 32  # the runtime's smallest: below it the network sees a few cells of the photo


def whole_number(low: int, high: int | None = None, what: str = "") -> type[int]:
    """An argparse type: a whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, {span}{what}")
        return value

    parse.__name__ = "whole number"
    return parse  # type: ignore[return-value]


def render_size(text: str) -> int:
    return whole_number(MIN_RENDER_SIZE, MAX_RENDER_SIZE, " pixels")(text)


def threads(text: str) -> int:
    return whole_number(1, os.cpu_count() or 1, " (this machine's CPU threads)")(text)


def saturation(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 10:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: give a number from 0 to 10 (1 = as predicted)")
    return value
