"""Embedded ICC profiles: inputs are converted to sRGB with LittleCMS (Pillow's ImageCms) before the Lab math, and
outputs are sRGB, tagged as sRGB whenever the input carried a profile.

The pipeline's Lab conversion assumes sRGB. An Adobe RGB or ProPhoto photo read as if it were sRGB comes out with
the wrong colors, and copying a gray or CMYK profile into an RGB file makes an invalid file, so neither is done.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np

# The profile color spaces (ICC header bytes 16-19) that each Pillow mode can be converted from.
_SPACES_OF_MODE = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB ", "RGBA": "RGB ", "CMYK": "CMYK"}


@lru_cache(maxsize=1)
def srgb_profile_bytes() -> bytes:
    """LittleCMS's built-in sRGB profile, written into every output whose input carried a profile."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def color_space(icc: bytes) -> str:
    """The profile's data color space from its header ('RGB ', 'GRAY', 'CMYK', ...), or '' when too short."""
    return icc[16:20].decode("ascii", "replace") if len(icc) >= 20 else ""


def _description(profile) -> str:
    from PIL import ImageCms

    try:
        return ImageCms.getProfileDescription(profile).strip()
    except ImageCms.PyCMSError:
        return ""


def is_srgb(icc: bytes) -> bool:
    """Whether the profile says it is sRGB (then the pixels are used as they are, untouched by a round trip)."""
    from PIL import ImageCms

    if color_space(icc) != "RGB ":
        return False
    try:
        description = _description(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError):
        return False
    return "srgb" in description.lower().replace(" ", "")


def to_srgb(image, icc: bytes | None):
    """(Pillow image in sRGB, note or None). ``image`` is converted from its embedded profile ``icc`` with
    LittleCMS's perceptual intent; gray and CMYK images come out RGB. An unusable profile is ignored with a note."""
    if not icc or is_srgb(icc):
        return image, None
    from PIL import ImageCms

    space = color_space(icc).strip() or "unknown"
    expected = _SPACES_OF_MODE.get(image.mode)
    if expected is None:
        return image, f"its {space} color profile was not applied (Pillow cannot convert {image.mode} images)"
    if color_space(icc) != expected:
        return image, f"its {space} color profile does not fit a {image.mode} image and was ignored"
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    source = image.convert({"LA": "L", "RGBA": "RGB"}.get(image.mode, image.mode))
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            source, profile, ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError) as error:
        return image, f"its color profile could not be read ({error}); the pixels were taken as sRGB"
    if alpha is not None:
        converted.putalpha(alpha)
    name = _description(profile) or space
    return converted, f"converted from its color profile ({name}) to sRGB"


def note_unconverted(icc: bytes | None, pixels: np.ndarray) -> str | None:
    """The note for a high-bit-depth photo whose profile LittleCMS (through Pillow) cannot apply: it is then read
    as sRGB, and the output carries sRGB's tag, never the input's."""
    if not icc or is_srgb(icc):
        return None
    return (
        f"its {color_space(icc).strip() or 'unknown'} color profile cannot be applied to {pixels.dtype} pixels; "
        "they were taken as sRGB (convert the photo to sRGB first for exact colors)"
    )
