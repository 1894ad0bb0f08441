"""Writing images for the CLI, atomically: a temporary file beside the target, then a rename (or a link, when an
existing file must not be replaced), so an interrupted run never leaves a truncated image and two runs never
write over each other's results. Outputs are sRGB; ``icc_profile`` tags them in every format that holds one.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from gimp_plugin.core import color
from gimp_plugin.core.errors import InputError, OutputError, OutputExists
from gimp_plugin.images.reading import IMAGE_EXTENSIONS, TIFF_EXTENSIONS

PNG16_BLOCK_ROWS = 256  # rows converted and compressed at a time: memory stays a few MB above the image's own


def _write_png16(pixels: np.ndarray, handle, icc_profile: bytes | None = None) -> None:
    """A 16-bit PNG (Pillow cannot write 16-bit RGB): no filter, zlib level 6, an iCCP chunk with the profile.
    Rows are converted and compressed in blocks, so no full-size copy of the image is made."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor, parts = zlib.compressobj(6), []
    for top in range(0, height, PNG16_BLOCK_ROWS):
        rows = pixels[top : top + PNG16_BLOCK_ROWS].astype(">u2").reshape(-1, width * channels)
        raw = np.zeros((len(rows), 1 + rows.shape[1] * 2), np.uint8)  # each row: filter type 0, then the samples
        raw[:, 1:] = rows.view(np.uint8)
        parts.append(compressor.compress(raw.tobytes()))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    handle.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header))
    if icc_profile:
        handle.write(chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc_profile)))
    handle.write(chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def _encode(pixels: np.ndarray, suffix: str, icc_profile: bytes | None, handle) -> None:
    if suffix in TIFF_EXTENSIONS:
        import tifffile

        buffer = io.BytesIO()  # tifffile wants a seekable, named target; the temporary handle is neither
        extra = ["unassalpha"] if pixels.ndim == 3 and pixels.shape[2] in (2, 4) else None
        photometric = "rgb" if pixels.ndim == 3 and pixels.shape[2] >= 3 else "minisblack"
        tifffile.imwrite(buffer, pixels, photometric=photometric, extrasamples=extra, iccprofile=icc_profile)
        handle.write(buffer.getvalue())
        return
    if suffix == ".png" and pixels.dtype != np.uint8:
        if pixels.dtype != np.uint16:
            pixels = color.from_unit_float(pixels, np.uint16)
        _write_png16(pixels, handle, icc_profile)
        return
    from PIL import Image

    if pixels.dtype == np.uint16:  # exact rounding of 16-bit codes to 8-bit ones
        pixels = ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    image = Image.fromarray(color.from_unit_float(pixels, np.uint8) if pixels.dtype != np.uint8 else pixels)
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    if suffix in (".jpg", ".jpeg"):
        image = image.convert("RGB")  # JPEG has no alpha
        options.update(quality=95, subsampling=0)
    elif suffix == ".png":
        options.update(compress_level=1)  # large photos: fast beats 10 % smaller
    elif suffix == ".webp":
        options.update(quality=95)
    image.save(handle, format=Image.registered_extensions()[suffix], **options)


# The largest side each format holds (WebP's bitstream; libjpeg's JPEG_MAX_DIMENSION).
MAX_SIDE_OF_FORMAT = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}


def _too_large_for_format(path: Path, suffix: str, pixels: np.ndarray) -> str | None:
    limit = MAX_SIDE_OF_FORMAT.get(suffix)
    height, width = pixels.shape[:2]
    if limit is None or max(height, width) <= limit:
        return None
    return (
        f"cannot write {path}: {suffix[1:].upper()} holds at most {limit} pixels a side, and this image is "
        f"{width} x {height}; choose another format (--format png or tif)"
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _describe(error: OSError, path: Path) -> str:
    """A write failure in words a user acts on."""
    return f"cannot write {path}: {_reason(error)}"


def _reason(error: OSError) -> str:
    reasons = {
        errno.ENOSPC: "no space left on the disk",
        errno.EDQUOT: "the disk quota is used up",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the disk is read-only",
        errno.ENOTDIR: "a part of the folder path is a file",
        errno.EEXIST: "a part of the folder path is a file",
        errno.ENAMETOOLONG: "the name is too long",
    }
    return reasons.get(error.errno, error.strerror or str(error))


def _publish(temporary: str, path: Path, overwrite: bool) -> None:
    """Move the finished temporary file to ``path``. Without ``overwrite`` a hard link claims the name, which fails
    if anything (another run, say) created it meanwhile; there is no moment where it is checked but not taken."""
    if overwrite:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputExists(f"{path} exists; pass --overwrite to replace it") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # No hard links here (FAT, some network drives): claim the name with an exclusive create instead.
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise OutputExists(f"{path} exists; pass --overwrite to replace it") from None
        os.replace(temporary, path)
    else:
        os.unlink(temporary)


MIN_FREE_BYTES = 1 << 20  # less than this free on the disk: not even a small photo fits
NAME_MAX_BYTES = 255  # what Linux, macOS and Windows file systems allow for one name
_TEMPORARY_EXTRA_BYTES = len(".") + len(".") + 8 + len(".tmp")  # mkstemp's 8 random characters


def temporary_prefix(name: str) -> str:
    """``.NAME.``, shortened so that the temporary name fits where the final name fits (a 250-byte name too)."""
    room = NAME_MAX_BYTES - _TEMPORARY_EXTRA_BYTES
    encoded = os.fsencode(name)
    if len(encoded) > room:
        name = encoded[:room].decode(errors="ignore")  # never half a character
    return f".{name}."


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` (made on the way if missing), or None when they can: checked
    once per folder when a batch is planned, by creating and removing a small file where the folder is or would
    be made, so a read-only, full or misnamed output folder is found before any photo is colorized."""
    existing = Path(folder)
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:  # a dangling link, or the root that is missing
            return f"{existing} cannot be made"
        existing = existing.parent
    if not existing.is_dir():
        return f"a part of the folder path is a file ({existing})"
    try:
        if shutil.disk_usage(existing).free < MIN_FREE_BYTES:
            return _reason(OSError(errno.ENOSPC, "no space"))
        descriptor, probe = tempfile.mkstemp(prefix=".colorize-probe-", suffix=".tmp", dir=existing)
        try:
            os.write(descriptor, b"probe")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
            os.unlink(probe)
    except OSError as error:
        return _reason(error)
    return None


def write_image(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    overwrite: bool = False,
    icc_profile: bytes | None = None,
) -> Path:
    """Write ``pixels`` to ``path`` atomically; the format follows the extension. Refuses to replace a file
    unless ``overwrite``. A failure to write (a full disk, a read-only folder) raises OutputError and leaves no
    temporary file behind."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"{path}: unknown output format {suffix!r}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    if path.exists() and not overwrite:
        raise OutputExists(f"{path} exists; pass --overwrite to replace it")
    if (too_large := _too_large_for_format(path, suffix, pixels)) is not None:
        raise OutputError(too_large)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
        with os.fdopen(descriptor, "wb") as handle:
            _encode(pixels, suffix, icc_profile, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give what a plain open() would
        _publish(temporary, path, overwrite)
    except OSError as error:
        raise OutputError(_describe(error, path)) from error
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return path
