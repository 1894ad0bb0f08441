"""The notes colorize-export appends to a model's ``colorize.trained_on`` (chroma gain, a bins model's temperature,
mirror averaging), written and read back in one place: a re-export or ``--init-from FILE.onnx`` needs them."""

from __future__ import annotations

import re

MIRROR_AVERAGED = "mirror-averaged"
CHROMA_GAIN, BINS_TEMPERATURE = "chroma gain", "bins temperature"
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"  # as Python's :g writes it, 5e-05 included
_GAIN = re.compile(CHROMA_GAIN + " " + _NUMBER)
_TEMPERATURE = re.compile(BINS_TEMPERATURE + " " + _NUMBER)
_NOTES = re.compile(rf"; ({CHROMA_GAIN} {_NUMBER}|{BINS_TEMPERATURE} {_NUMBER}|{MIRROR_AVERAGED})")


def with_notes(photos: str, chroma_gain: float, mirror_average: bool, temperature: float | None) -> str:
    """``photos`` (what the model was trained on) followed by the export's notes."""
    if chroma_gain != 1.0:
        photos += f"; {CHROMA_GAIN} {chroma_gain:g}"
    if mirror_average:
        photos += f"; {MIRROR_AVERAGED}"
    if temperature is not None:
        photos += f"; {BINS_TEMPERATURE} {temperature:g}"
    return photos


def without_notes(trained_on: str) -> str:
    """``trained_on`` less the export's notes: what a re-export starts from."""
    return _NOTES.sub("", trained_on)


def is_mirror_averaged(trained_on: str) -> bool:
    return MIRROR_AVERAGED in trained_on


def chroma_gain(trained_on: str) -> float:
    """The gain colorize-export recorded in ``colorize.trained_on`` (1.0 when none)."""
    found = _GAIN.search(trained_on)
    return float(found.group(1)) if found else 1.0


def bins_temperature(trained_on: str) -> float | None:
    """The annealing temperature colorize-export recorded for a bins model (None when none)."""
    found = _TEMPERATURE.search(trained_on)
    return float(found.group(1)) if found else None
