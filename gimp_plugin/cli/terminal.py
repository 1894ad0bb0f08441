"""Text from files (names, ICC profile descriptions) made safe to print: a name may hold escape sequences that
would retitle a window or erase lines, or bytes that are not text at all."""

from __future__ import annotations

import unicodedata


def printable(text: object) -> str:
    """``text`` with control and format characters (and undecodable bytes) written as escapes, e.g. ``\\x1b``."""
    shown = []
    for character in str(text):
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that was not UTF-8 (surrogateescape)
            shown.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(character)[0] == "C" and character not in "\t":
            shown.append(repr(character)[1:-1] if code < 0x10000 else f"\\U{code:08x}")
        else:
            shown.append(character)
    return "".join(shown)
