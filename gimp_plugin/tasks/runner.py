"""One request runner for every front end: a photo as an array and what to do with it, in; arrays out. The command
line (``cli.photo``) reads files into a ``Request`` and writes the ``Result``; the worker (``worker.jobs``) decodes
bytes into one and encodes the result; the GIMP plug-ins reach it through the worker or in-process.

A request is prepared once (``render.prepare``: L* at the render size), then its hints are read at that size, the
references matched against the same L*, and the task run on the same render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import Hints
from gimp_plugin.core.pipeline import check_saturation, colorize_render
from gimp_plugin.core.render import prepare
from gimp_plugin.core.render_paths import Progress
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.guidance import reference
from gimp_plugin.guidance.suggest import check_count, dots_image, opaque_pixels, suggest_from
from gimp_plugin.guidance.uncertainty import Analysis, analyse, heat_map

COLORIZE, SUGGEST_HINTS, UNCERTAINTY = "colorize", "suggest-hints", "uncertainty"
TASKS = (COLORIZE, SUGGEST_HINTS, UNCERTAINTY)
HintSource = Callable[[tuple[int, int]], Hints]  # the hints, reduced to the render size (height, width) given


@dataclass(frozen=True)
class Request:
    """A photo and what to do with it."""

    pixels: np.ndarray  # gray, gray+alpha, RGB or RGBA; 8-bit, 16-bit or float
    task: str = COLORIZE  # COLORIZE; SUGGEST_HINTS (``count`` dots as an RGBA image); UNCERTAINTY (a heat map)
    render_size: int | None = None  # None: the model's own
    saturation: float = 1.0
    hints: HintSource | None = None
    references: Sequence[reference.Reference] = ()
    selection: np.ndarray | None = None  # H x W, 0..1 or uint8: how much of each pixel the result replaces
    count: int = 0  # SUGGEST_HINTS: how many dots
    analysis_too: bool = False  # also return the uncertainty analysis (the CLI's --uncertainty-map)
    threads: int | None = None


@dataclass
class Result:
    image: np.ndarray  # the colorized photo; the dots (RGBA); or the heat map (RGB), at the photo's size
    analysis: Analysis | None = None
    notes: list[str] = field(default_factory=list)  # what the user should know about this photo


def check(request: Request) -> None:
    """The request's settings, in words, before any work."""
    if request.task not in TASKS:
        raise InputError(f"unknown task {request.task!r}: one of {', '.join(TASKS)}")
    check_saturation(request.saturation)
    if request.task == SUGGEST_HINTS:
        check_count(request.count)


def run_request(request: Request, model: ColorizationModel, progress: Progress | None = None) -> Result:
    """Do what ``request`` asks with ``model``. Raises ColorizeError (in words) on bad input."""
    check(request)
    render = prepare(
        request.pixels,
        model,
        render_size=request.render_size,
        selection=request.selection,
        threads=request.threads,
        progress=progress,
    )
    hints = request.hints(render.size) if request.hints is not None else None
    notes = []
    if request.references:
        hints, carried, share = reference.hints_for(render, model, list(request.references), hints)
        if not carried:
            notes.append(f"the reference matched too little of this photo ({share:.0%} of it); colorized without it")
    analysis = None
    if request.task != COLORIZE or request.analysis_too:
        analysis = analyse(render, model, hints)
    if request.task == SUGGEST_HINTS:
        suggestions = suggest_from(analysis, request.count)
        if len(suggestions.points) < request.count:
            notes.append(f"only {len(suggestions.points)} of {request.count} points fit this photo")
        return Result(dots_image(suggestions, where=opaque_pixels(request.pixels)), analysis, notes)
    if request.task == UNCERTAINTY:
        return Result(heat_map(analysis), analysis, notes)
    image = colorize_render(render, model, saturation=request.saturation, hints=hints, progress=progress)
    return Result(image, analysis, notes)
