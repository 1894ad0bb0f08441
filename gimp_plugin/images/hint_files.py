"""Hint images from files: reduced to the render size as they are read, so a huge hint layer costs little."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gimp_plugin.core import limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.core.hints import HINT_BYTES_PER_PIXEL, Hints, hints_from_rgba, reduce_strips
from gimp_plugin.images.reading import TIFF_EXTENSIONS, check_extension, read_image


def read_hints(path, render: tuple[int, int]) -> Hints:
    """The hints of an RGBA image file, reduced as they are read to the render size (height, width) they are
    used at; its size is checked before decoding (a small file can declare a huge image). A plain 8-bit RGBA or
    gray+alpha file is reduced in strips straight from the decoder's pixels, so a 20000 x 20000 hint image costs
    its 8-bit pixels once; others (TIFF, a color profile, a palette) are read whole first."""
    try:
        streamed = _read_hints_in_strips(Path(path), render)
        if streamed is not None:
            return streamed
        loaded = read_image(path, what=f"the hint image {path}", bytes_per_pixel=HINT_BYTES_PER_PIXEL)
        return hints_from_rgba(loaded.pixels, render)
    except InputError as error:
        message = str(error)
        raise InputError(message if str(path) in message else f"{path}: {message}") from error


def _read_hints_in_strips(path: Path, render: tuple[int, int]) -> Hints | None:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    check_extension(path)
    if path.suffix.lower() in TIFF_EXTENSIONS:
        return None
    Image.MAX_IMAGE_PIXELS = None  # the limits module decides, before decoding
    try:
        with Image.open(path) as image:
            if image.mode not in ("RGBA", "LA") or image.info.get("icc_profile"):
                return None
            limits.check_declared_size(*image.size, 1, f"the hint image {path}", HINT_BYTES_PER_PIXEL)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy when there is nothing to turn
            width, height = image.size
            return reduce_strips(
                lambda top, bottom: np.asarray(image.crop((0, top, width, bottom))), height, width, render
            )
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"cannot read this file as an image ({error})") from error
