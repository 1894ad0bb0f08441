"""Minimal ICC v2 profiles built byte by byte, so the color-management tests need no profile files: a
matrix-shaper RGB profile (Adobe RGB (1998)'s primaries and gamma) and a gray gamma profile."""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)
# Adobe RGB (1998) colorants, adapted to D50 as ICC profiles store them, and its gamma 563/256.
ADOBE_RGB_COLORANTS = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
ADOBE_RGB_GAMMA = 563 / 256


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    body = b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
    body += b"\0" * 8 + b"\0" * 3 + b"\0" * 67  # no Unicode, no ScriptCode description
    return body + b"\0" * (-len(body) % 4)


def _text(text: str) -> bytes:
    body = b"text\0\0\0\0" + text.encode("ascii") + b"\0"
    return body + b"\0" * (-len(body) % 4)


def build_profile(space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset, table, data = 128 + table_size, b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_size + len(data)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
    header += b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + b"\0" * 4
    header += b"".join(_s15(v) for v in D50) + b"lcms" + b"\0" * 16 + b"\0" * 28
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def adobe_rgb() -> bytes:
    tags = [(b"desc", _description("Test Adobe RGB (1998)")), (b"cprt", _text("public domain")), (b"wtpt", _xyz(D50))]
    names = (b"rXYZ", b"gXYZ", b"bXYZ")
    tags += [(name, _xyz(colorant)) for name, colorant in zip(names, ADOBE_RGB_COLORANTS, strict=True)]
    tags += [(name, _curve(ADOBE_RGB_GAMMA)) for name in (b"rTRC", b"gTRC", b"bTRC")]
    return build_profile(b"RGB ", tags)


def gray_gamma(gamma: float = 1.8) -> bytes:
    tags = [
        (b"desc", _description(f"Test Gray Gamma {gamma}")),
        (b"cprt", _text("public domain")),
        (b"wtpt", _xyz(D50)),
        (b"kTRC", _curve(gamma)),
    ]
    return build_profile(b"GRAY", tags)


def not_a_profile(space: bytes = b"CMYK") -> bytes:
    """A header that claims ``space`` and holds no tags: LittleCMS refuses it."""
    return build_profile(space, [])
