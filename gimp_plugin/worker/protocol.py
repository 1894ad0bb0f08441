# -*- coding: utf-8 -*-
"""The worker protocol's constants, shared by the GIMP side (``bridge``, valid Python 2.7, no numpy) and the
runtime side (``jobs``). The protocol itself is described in docs/model-contract.md, "Worker protocol"."""

PROTOCOL = 2  # 2 adds "task" (colorize, suggest-hints, uncertainty) and "count"; requests of 1 still work
UNDERSTOOD_PROTOCOLS = (1, 2)
TASKS = ("colorize", "suggest-hints", "uncertainty")
MAX_HEADER_BYTES = 1 << 16
# Sample formats on the wire: name -> numpy type string (little-endian); its last digit is the bytes per sample.
SAMPLE_TYPES = {"u8": "u1", "u16": "<u2", "f32": "<f4"}
BYTES_PER_SAMPLE = dict((name, int(kind[-1])) for name, kind in SAMPLE_TYPES.items())
