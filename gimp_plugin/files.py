"""One photo file in, one result file out: what every file front end runs per photo (the `colorize` command, its
shards, and the workers of a Dask cluster), with the run's settings in one object instead of a command line.

``run_task`` never raises for a bad photo: it returns an Outcome (written, done before, or failed with a message a
user can act on), so one photo never stops a batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import reference
from .errors import ColorizeError, InputError, OutputExists
from .hints import read_hints
from .image_io import read_image
from .image_write import write_image
from .model import ColorizationModel
from .pipeline import colorize, render_shape
from .suggest import dots_image, opaque_pixels, suggest_from
from .uncertainty import analyse, heat_map

WRITTEN, DONE_BEFORE, FAILED = "written", "done-before", "failed"


@dataclass(frozen=True)
class Settings:
    """How every photo of a run is colorized; the same for all of them."""

    render_size: int | None = None  # None: the model's own
    saturation: float = 1.0
    hints: Path | None = None  # an RGBA hint image (one input only)
    references: tuple[reference.Reference, ...] = ()  # prepared once, before any photo
    suggest_hints: int | None = None  # write N suggested hint dots instead of colorizing
    uncertainty_map: Path | None = None  # also write where the model is unsure (one input only)
    threads: int | None = None
    overwrite: bool = False


@dataclass
class Outcome:
    """What became of one input: a line of ``--report``."""

    input: str
    output: str | None
    status: str  # WRITTEN, DONE_BEFORE or FAILED
    message: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # for the terminal; joined into ``message`` in the report


def colorize_file(source: Path, destination: Path, model: ColorizationModel, settings: Settings) -> list[str]:
    """Colorize one file (or, with ``suggest_hints``, write its suggested hint dots); returns notes for the user.
    Raises ColorizeError on failure, OutputExists when the output is there already (without ``overwrite``)."""
    if destination.exists() and not settings.overwrite:
        raise OutputExists(f"{destination} exists; pass --overwrite to replace it")
    if settings.uncertainty_map is not None and settings.uncertainty_map.exists() and not settings.overwrite:
        raise InputError(f"{settings.uncertainty_map} exists; pass --overwrite to replace it")
    loaded = read_image(source)
    hints = None
    if settings.hints is not None:
        height, width = loaded.pixels.shape[:2]
        size = settings.render_size or model.info.default_render_size
        hints = read_hints(settings.hints, render_shape(height, width, size))
    notes = list(loaded.notes)
    if settings.references:
        hints, carried, share = reference.hints_for(loaded.pixels, model, list(settings.references), hints,
                                                    settings.render_size, settings.threads)  # fmt: skip
        if not carried:
            notes.append(f"the reference matched too little of this photo ({share:.0%} of it); colorized without it")
    if settings.suggest_hints or settings.uncertainty_map:
        analysis = analyse(loaded.pixels, model, render_size=settings.render_size, hints=hints,
                           threads=settings.threads)  # fmt: skip
        if settings.uncertainty_map:
            write_image(settings.uncertainty_map, heat_map(analysis), overwrite=settings.overwrite)
        if settings.suggest_hints:
            suggestions = suggest_from(analysis, settings.suggest_hints)
            write_image(destination, dots_image(suggestions, where=opaque_pixels(loaded.pixels)),
                        overwrite=settings.overwrite)  # fmt: skip
            placed, asked = len(suggestions.points), settings.suggest_hints
            return [*notes, *([f"only {placed} of {asked} points fit this photo"] if placed < asked else [])]
    result = colorize(loaded.pixels, model, render_size=settings.render_size, saturation=settings.saturation,
                      hints=hints, threads=settings.threads)  # fmt: skip
    del loaded.pixels  # the input's memory is free before the output is encoded
    write_image(destination, result, overwrite=settings.overwrite, icc_profile=loaded.icc_profile)
    return notes


def run_task(source: Path, destination: Path, model: ColorizationModel, settings: Settings) -> Outcome:
    """``colorize_file`` with its failure in words: an output already there is done before, not a failure."""
    start = time.perf_counter()

    def outcome(status: str, message: str = "", notes: list[str] | None = None) -> Outcome:
        seconds = round(time.perf_counter() - start, 3)
        return Outcome(str(source), str(destination), status, message, seconds, notes or [])

    try:
        notes = colorize_file(source, destination, model, settings)
    except OutputExists:
        return outcome(DONE_BEFORE)
    except ColorizeError as error:
        return outcome(FAILED, str(error))
    except MemoryError:
        return outcome(FAILED, f"{source}: out of memory; try a smaller image or fewer --threads")
    except OSError as error:  # anything the file layers did not put in words
        return outcome(FAILED, f"{source}: {error.strerror or error}")
    except Exception as error:  # a fault of ours on this photo: said and reported, and the batch goes on
        return outcome(FAILED, f"{source}: internal error ({type(error).__name__}: {error}); please report it")
    return outcome(WRITTEN, "; ".join(notes), notes)
