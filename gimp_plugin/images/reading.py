"""Reading image files for the CLI: Pillow for the common formats, tifffile for TIFF (16-bit and float too).

A file's declared size is checked before it is decoded, embedded color profiles are applied (``color_profiles``),
and orientation tags are followed, so the pipeline always gets upright sRGB pixels.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gimp_plugin.core import color, limits
from gimp_plugin.core.errors import InputError
from gimp_plugin.images import color_profiles

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
TIFF_EXTENSIONS = (".tif", ".tiff")


@dataclass
class LoadedImage:
    pixels: np.ndarray
    icc_profile: bytes | None = None
    notes: list[str] = field(default_factory=list)


PNG_COLOR_TYPES = {0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"}


def _png_depth_and_kind(path: Path) -> tuple[int, str] | None:
    """(bit depth, color type in words) from a PNG's IHDR chunk, or None for other files."""
    with open(path, "rb") as handle:
        header = handle.read(26)
    if len(header) < 26 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        return None
    return header[24], PNG_COLOR_TYPES.get(header[25], "color")


def _frame_note(image) -> str | None:
    frames = getattr(image, "n_frames", 1)
    if image.format == "TIFF":
        return _pages_note(frames)
    if frames > 1:
        return (
            f"it holds {frames} frames (an animation); only the first frame was colorized. "
            "Save the frames as separate images to colorize the others"
        )
    return None


def _bytes_per_sample(mode: str) -> int:
    return 4 if mode in ("I", "F") else 2 if mode.startswith("I;16") else 1


def _normalise_mode(image):
    """Modes the pipeline reads as they are; palette, bilevel and the rest become gray or RGB(A)."""
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F") or image.mode.startswith("I;16"):
        return image
    if image.mode == "1":
        return image.convert("L")
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")  # palette, YCbCr, LAB, HSV: Pillow's own conversion


def _from_pillow(image) -> np.ndarray:
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise InputError("32-bit integer images are not supported; save the image as 16-bit")
        return values.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    if image.mode == "CMYK":  # no usable profile: Pillow's plain conversion
        image = image.convert("RGB")
    return np.asarray(image)


def check_extension(path: Path) -> None:
    """Refuse files whose format the CLI does not read, with the same rule for single files and folders."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        kind = f"{suffix[1:].upper()} files" if suffix else "files without an extension"
        raise InputError(f"{path}: {kind} are not read; use {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")


def read_image(path: str | os.PathLike, what: str | None = None, bytes_per_pixel: int | None = None) -> LoadedImage:
    """Pixels of an image file as a numpy array (H x W [x C]; uint8, uint16 or float32), in sRGB. InputError if
    unreadable, too large for the memory free (checked before decoding), or of a format the CLI does not read.
    ``what`` names the file in messages; ``bytes_per_pixel`` is the memory it will cost (default: a photo's)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    check_extension(path)
    if path.suffix.lower() in TIFF_EXTENSIONS:
        return _read_tiff(path, what or str(path), bytes_per_pixel)
    return _read_with_pillow(path, what or str(path), bytes_per_pixel)


def _read_with_pillow(path: Path, what: str, bytes_per_pixel: int | None) -> LoadedImage:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None  # Pillow's own bomb guard (179 MP) would stop short of ours, checked below
    notes = []
    try:
        with Image.open(path) as image:  # reads the header only
            limits.check_declared_size(*image.size, _bytes_per_sample(image.mode), what, bytes_per_pixel)
            notes += [note] if (note := _frame_note(image)) else []
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy when there is nothing to turn
            icc = image.info.get("icc_profile")
            converted, note = color_profiles.to_srgb(_normalise_mode(image), icc)
            notes += [note] if note else []
            pixels = _from_pillow(converted)
            del converted
    except InputError as error:
        message = str(error)
        raise InputError(message if str(path) in message else f"{path}: {message}") from error
    except Exception as error:
        raise InputError(f"{path}: cannot read this file as an image ({error})") from error
    if pixels.dtype != np.uint8 and (note := color_profiles.note_unconverted(icc, pixels)):
        notes.append(note)
    png = _png_depth_and_kind(path)
    if png and png[0] == 16 and png[1] != "gray":  # Pillow keeps 16 bits for plain gray PNGs only
        notes.append(f"16-bit {png[1]} PNG read at 8-bit precision (Pillow limit); use 16-bit TIFF to keep all 16 bits")
    return LoadedImage(np.ascontiguousarray(pixels), color_profiles.srgb_profile_bytes() if icc else None, notes)


# TIFF orientation tag values (as EXIF's) -> the numpy view that shows the image upright.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a[::-1].swapaxes(0, 1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: a[:, ::-1].swapaxes(0, 1),
}


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` turned as a TIFF or EXIF orientation tag says (1, or an unknown value: as stored)."""
    return np.ascontiguousarray(_ORIENT[orientation](pixels)) if orientation in _ORIENT else pixels


def _tiff_tag(page, name: str, default=None):
    tag = page.tags.get(name)
    return default if tag is None else tag.value


LAB_PHOTOMETRICS = (8, 9, 10)  # CIELAB, ICCLAB, ITULAB
PHOTOMETRIC_YCBCR = 6


def _first_full_page(tiff):
    """The first page that is an image of its own: a reduced-resolution preview stored first is passed over."""
    return next((page for page in tiff.pages if not getattr(page, "subfiletype", 0) & 1), tiff.pages.first)


def _full_scale(pixels: np.ndarray, bits: int) -> np.ndarray:
    """Samples of ``bits`` bits (4-bit, 12-bit scans) stretched to their type's full range, exactly rounded."""
    top, full = (1 << bits) - 1, np.iinfo(pixels.dtype).max
    return ((pixels.astype(np.uint32) * full + top // 2) // top).astype(pixels.dtype)


def _gray_of_lab(pixels: np.ndarray, photometric: int) -> np.ndarray:
    """A Lab TIFF as the gray image of its L*: colorizing keeps only the lightness anyway, and this one is exact
    (read as RGB, its L* would be off by 20 to 25)."""
    lightness_channel = pixels[..., 0] if pixels.ndim == 3 else pixels
    if np.issubdtype(pixels.dtype, np.floating):
        lightness = lightness_channel.astype(np.float32)  # float Lab stores L* itself
    else:
        lightness = lightness_channel.astype(np.float32) * np.float32(100.0 / np.iinfo(pixels.dtype).max)
    return color.from_unit_float(color.linear_to_srgb(color.lightness_to_luminance(lightness)), pixels.dtype)


def _rgb_of_ycbcr(pixels: np.ndarray) -> np.ndarray:
    """An uncompressed YCbCr TIFF (ITU-R BT.601, full range) as RGB; JPEG-compressed ones arrive as RGB already."""
    full = float(np.iinfo(pixels.dtype).max) if np.issubdtype(pixels.dtype, np.integer) else 1.0
    middle = (full + 1) / 2 if full > 1 else 0.5
    luma, blue, red = (pixels[..., i].astype(np.float32) for i in range(3))
    rgb = np.stack(
        [
            luma + 1.402 * (red - middle),
            luma - 0.344136 * (blue - middle) - 0.714136 * (red - middle),
            luma + 1.772 * (blue - middle),
        ],
        axis=-1,
    )
    rgb = np.clip(rgb / full, 0, 1)
    result = color.from_unit_float(rgb, pixels.dtype)
    return np.concatenate([result, pixels[..., 3:]], axis=-1) if pixels.shape[2] > 3 else result


def _page_count(tiff) -> int:
    """Pages that are images of their own: reduced-resolution copies (thumbnails, pyramid levels) do not count."""
    return sum(1 for page in tiff.pages if not getattr(page, "subfiletype", 0) & 1)


def _pages_note(pages: int) -> str | None:
    if pages <= 1:
        return None
    return (
        f"it holds {pages} pages; only the first page was colorized. Save each page as its own file "
        "to colorize the others"
    )


def _read_tiff(path: Path, what: str, bytes_per_pixel: int | None) -> LoadedImage:
    """The first page of a TIFF (multi-page scans hold one photo a page: never pages as channels), decoded with
    tifffile, whose codecs (LZW, JPEG, CCITT, ...) come from imagecodecs."""
    import tifffile

    try:
        with _quiet_tifffile(), tifffile.TiffFile(path) as tiff:
            page = _first_full_page(tiff)
            planar = page.planarconfig == 2 and page.samplesperpixel > 1  # SEPARATE: stored as (C, H, W)
            limits.check_declared_size(
                page.imagewidth,
                page.imagelength,
                page.dtype.itemsize,
                what,
                bytes_per_pixel,
                samples=page.samplesperpixel,
            )
            pages = _page_count(tiff)
            pixels = page.asarray()  # this page only: the others are never decoded
            bits = int(page.bitspersample)
            photometric = int(_tiff_tag(page, "PhotometricInterpretation", 1))
            orientation = int(_tiff_tag(page, "Orientation", 1))
            icc = _tiff_tag(page, "InterColorProfile")
            colormap = page.colormap if photometric == 3 else None
    except InputError:
        raise
    except Exception as error:
        # A codec tifffile lacks (an old imagecodecs without CCITT, say): Pillow's libtiff reads most scans too.
        try:
            return _read_with_pillow(path, what, bytes_per_pixel)
        except InputError:
            raise InputError(f"{path}: cannot read this file as a TIFF image ({error})") from error
    if planar:
        pixels = np.moveaxis(pixels, 0, -1)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if colormap is not None:  # palette: 16-bit RGB from the color map
        pixels = np.moveaxis(np.asarray(colormap)[:, pixels], 0, -1).astype(np.uint16)
    if pixels.dtype == np.bool_:  # bilevel (CCITT fax scans): black and white as 8-bit gray
        pixels = pixels.astype(np.uint8) * np.uint8(255)
    elif np.issubdtype(pixels.dtype, np.integer) and bits < 8 * pixels.dtype.itemsize and colormap is None:
        pixels = _full_scale(pixels, bits)  # 4-bit, 12-bit ...: their top value is white, not a dark gray
    if photometric in LAB_PHOTOMETRICS:
        pixels = _gray_of_lab(pixels, photometric)
    elif photometric == PHOTOMETRIC_YCBCR and pixels.ndim == 3 and pixels.shape[2] >= 3:
        pixels = _rgb_of_ycbcr(pixels)
    if photometric == 0 and np.issubdtype(pixels.dtype, np.integer):  # min-is-white
        pixels = np.iinfo(pixels.dtype).max - pixels
    if pixels.ndim == 3 and pixels.shape[2] > 4:
        pixels = pixels[..., :4]
    if pixels.dtype in (np.float16, np.float64):
        pixels = pixels.astype(np.float32)
    notes = [note] if (note := _pages_note(pages)) else []
    icc = bytes(icc) if icc is not None else None
    if photometric == 5 or (icc and pixels.dtype == np.uint8):  # CMYK, or 8-bit with a profile: LittleCMS
        pixels, note = _convert_u8_with_profile(pixels, icc, cmyk=photometric == 5)
        notes += [note] if note else []
    elif note := color_profiles.note_unconverted(icc, pixels):
        notes.append(note)
    pixels = upright(pixels, orientation)
    return LoadedImage(np.ascontiguousarray(pixels), color_profiles.srgb_profile_bytes() if icc else None, notes)


@contextlib.contextmanager
def _quiet_tifffile():
    """tifffile logs its doubts about odd files as warnings; the CLI reports what matters itself."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _convert_u8_with_profile(pixels: np.ndarray, icc: bytes | None, cmyk: bool) -> tuple[np.ndarray, str | None]:
    from PIL import Image

    if pixels.dtype != np.uint8 or (cmyk and (pixels.ndim != 3 or pixels.shape[2] < 4)):
        raise InputError("only 8-bit CMYK TIFF files are read; convert the scan to RGB or gray first")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    mode = "CMYK" if cmyk else {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    image = Image.fromarray(pixels.reshape(pixels.shape[:2]) if channels == 1 else pixels, mode)
    image, note = color_profiles.to_srgb(image, icc)
    return _from_pillow(image), note
