"""One photo file in, one result file out: what every file front end runs per photo (the `colorize` command, its
shards, and the workers of a Dask cluster), with the run's settings in one object instead of a command line.

``run_task`` never raises for a bad photo: it returns an Outcome (written, done before, or failed with a message a
user can act on), so one photo never stops a batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gimp_plugin.core.errors import ColorizeError, InputError, OutputExists
from gimp_plugin.core.session import ColorizationModel
from gimp_plugin.guidance import reference
from gimp_plugin.guidance.uncertainty import PALETTE, heat_map, heat_map_top
from gimp_plugin.images.hint_files import read_hints
from gimp_plugin.images.reading import read_image
from gimp_plugin.images.writing import write_image
from gimp_plugin.tasks.runner import COLORIZE, SUGGEST_HINTS, Request, run_request

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
    notes = [*loaded.notes, *_notes_on_what_is_lost(loaded.pixels, destination)]
    task = SUGGEST_HINTS if settings.suggest_hints else COLORIZE
    hint_file = settings.hints
    request = Request(
        loaded.pixels,
        task,
        settings.render_size,
        settings.saturation,
        hints=None if hint_file is None else (lambda size: read_hints(hint_file, size)),
        references=settings.references,
        count=settings.suggest_hints or 0,
        analysis_too=settings.uncertainty_map is not None,
        threads=settings.threads,
    )
    result = run_request(request, model)
    del loaded.pixels, request  # the input's memory is free before the output is encoded
    if settings.uncertainty_map is not None:
        top = heat_map_top(result.analysis)
        picture = with_legend(heat_map(result.analysis, top), top)
        write_image(settings.uncertainty_map, picture, overwrite=settings.overwrite)
    icc_profile = loaded.icc_profile if task == COLORIZE else None
    write_image(destination, result.image, overwrite=settings.overwrite, icc_profile=icc_profile)
    return [*notes, *result.notes]


COLOR_PHOTO_CHROMA = 6.0  # mean |R - G| + |G - B| (8-bit scale) above which a photo has colours of its own


def _notes_on_what_is_lost(pixels: np.ndarray, destination: Path) -> list[str]:
    """What the user should know the result will not keep: a colour photo's own colours, JPEG's missing alpha."""
    notes = []
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        step = max(1, max(pixels.shape[:2]) // 256)
        sample = pixels[::step, ::step, :3].astype(np.float32) * (
            255.0 / np.iinfo(pixels.dtype).max if pixels.dtype.kind == "u" else 255.0
        )
        spread = np.abs(sample[..., 0] - sample[..., 1]) + np.abs(sample[..., 1] - sample[..., 2])
        if float(spread.mean()) > COLOR_PHOTO_CHROMA:
            notes.append(
                "this photo has colours of its own (a tint, or a colour photo): they were replaced, only "
                "its lightness was kept"
            )
    has_alpha = pixels.ndim == 3 and pixels.shape[2] in (2, 4)
    if has_alpha and destination.suffix.lower() in (".jpg", ".jpeg"):
        notes.append("JPEG has no transparency: the alpha channel was dropped (PNG, TIFF and WebP keep it)")
    return notes


def with_legend(picture: np.ndarray, top: float) -> np.ndarray:
    """The heat map with a legend strip below it: the palette from 'sure' (black) to 'unsure' (pale yellow), and
    the expected colour error the brightest stands for."""
    from PIL import Image, ImageDraw

    width = picture.shape[1]
    height = max(16, min(48, width // 12))
    strip = np.repeat(PALETTE[np.linspace(0, 255, width).astype(np.uint8)][None], height, axis=0)
    legend = Image.fromarray(np.ascontiguousarray(strip))
    draw, size = ImageDraw.Draw(legend), max(8, height // 2)
    try:
        from PIL import ImageFont

        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has one default size
        font = None
    draw.text((4, height // 2), "sure", fill=(255, 255, 255), anchor="lm", font=font)
    draw.text(
        (width - 4, height // 2), f"unsure: colour off by ~{top:.0f} a*b*", fill=(0, 0, 0), anchor="rm", font=font
    )
    return np.concatenate([picture, np.asarray(legend)], axis=0)


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
