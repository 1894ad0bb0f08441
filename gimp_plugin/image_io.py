"""Reading and writing image files for the CLI: Pillow for the common formats, tifffile for high-bit-depth TIFF.

Outputs are written atomically (a temporary file beside the target, then a rename), so an interrupted run never
leaves a truncated image, and an existing file is only replaced when the caller says so.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
TIFF_EXTENSIONS = (".tif", ".tiff")
# Pillow's default bomb guard stops at ~179 MP; the pipeline has its own, higher, limit (pipeline.MAX_PIXELS).
PILLOW_MAX_PIXELS = 500_000_000


@dataclass
class LoadedImage:
    pixels: np.ndarray
    icc_profile: bytes | None = None
    notes: list[str] = field(default_factory=list)


def _png_bit_depth(path: Path) -> int | None:
    with open(path, "rb") as handle:
        header = handle.read(26)
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        return None
    return header[24]


def _from_pillow(image) -> np.ndarray:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise InputError("32-bit integer images are not supported; save the image as 16-bit")
        return values.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(image)
    has_alpha = image.mode in ("PA", "RGBa", "La") or "transparency" in image.info
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    # Palette, CMYK, YCbCr, LAB, HSV: Pillow's conversion to RGB(A) is the right one for these.
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def read_image(path: str | os.PathLike) -> LoadedImage:
    """Pixels of an image file as a numpy array (H x W [x C]; uint8, uint16 or float32). InputError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in TIFF_EXTENSIONS:
        return _read_tiff(path)
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = PILLOW_MAX_PIXELS
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image = ImageOps.exif_transpose(image)
                icc = image.info.get("icc_profile")
                pixels = _from_pillow(image)
    except InputError as error:
        raise InputError(f"{path}: {error}") from error
    except Exception as error:
        raise InputError(f"{path}: cannot read this file as an image ({error})") from error
    if pixels.ndim == 3 and pixels.shape[2] >= 3 and _png_bit_depth(path) == 16:
        notes.append("16-bit RGB PNG read at 8-bit precision (Pillow limit); use 16-bit TIFF to keep all 16 bits")
    return LoadedImage(np.ascontiguousarray(pixels), icc, notes)


def _read_tiff(path: Path) -> LoadedImage:
    import tifffile

    try:
        pixels = tifffile.imread(path)
    except Exception as error:
        raise InputError(f"{path}: cannot read this file as a TIFF image ({error})") from error
    if pixels.ndim == 3 and pixels.shape[0] in (1, 2, 3, 4) and pixels.shape[2] > 4:
        pixels = np.moveaxis(pixels, 0, -1)  # planar (C, H, W) storage
    if pixels.ndim == 3 and pixels.shape[2] > 4:
        pixels = pixels[..., :4]
    if pixels.dtype in (np.float16, np.float64):
        pixels = pixels.astype(np.float32)
    return LoadedImage(np.ascontiguousarray(pixels))


def _png16_bytes(pixels: np.ndarray) -> bytes:
    """A 16-bit PNG (Pillow cannot write 16-bit RGB): no filter, zlib level 6."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2").reshape(height, width * channels)
    raw = np.zeros((height, 1 + rows.shape[1] * 2), np.uint8)  # each row: filter type 0, then the samples
    raw[:, 1:] = rows.view(np.uint8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)


def _encode(pixels: np.ndarray, suffix: str, icc_profile: bytes | None, handle) -> None:
    if suffix in TIFF_EXTENSIONS:
        import tifffile

        buffer = io.BytesIO()  # tifffile wants a seekable, named target; the temporary handle is neither
        extra = ["unassalpha"] if pixels.ndim == 3 and pixels.shape[2] in (2, 4) else None
        photometric = "rgb" if pixels.ndim == 3 and pixels.shape[2] >= 3 else "minisblack"
        tifffile.imwrite(buffer, pixels, photometric=photometric, extrasamples=extra)
        handle.write(buffer.getvalue())
        return
    if suffix == ".png" and pixels.dtype != np.uint8:
        if pixels.dtype != np.uint16:
            pixels = np.round(np.clip(pixels, 0, 1) * 65535).astype(np.uint16)
        handle.write(_png16_bytes(pixels))
        return
    from PIL import Image

    image = Image.fromarray(_to_uint8(pixels))
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if suffix in (".jpg", ".jpeg"):
        image = image.convert("RGB")  # JPEG has no alpha
        options.update(quality=95, subsampling=0)
    elif suffix == ".png":
        options.update(compress_level=1)  # large photos: fast beats 10 % smaller
    elif suffix == ".webp":
        options.update(quality=95)
    image.save(handle, format=Image.registered_extensions()[suffix], **options)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_image(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    overwrite: bool = False,
    icc_profile: bytes | None = None,
) -> Path:
    """Write ``pixels`` to ``path`` atomically; the format follows the extension. Refuses to replace a file
    unless ``overwrite``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"{path}: unknown output format {suffix!r}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    if path.exists() and not overwrite:
        raise InputError(f"{path} exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _encode(pixels, suffix, icc_profile, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give what a plain open() would
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
