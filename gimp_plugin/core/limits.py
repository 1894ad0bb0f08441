"""How large a photo may be: a fixed ceiling, and the memory this machine has free, both checked before any pixel
is decoded (a 1 MB file can declare 20000 x 20000 pixels)."""

from __future__ import annotations

import os
from pathlib import Path

from gimp_plugin.core.errors import InputError

MAX_PIXELS = 500_000_000  # 20000 x 25000; L alone then takes 2 GB
MAX_SIDE = 1_000_000  # no side of a real photo is longer; a larger number in a request is a mistake
# Peak bytes per pixel while a photo is read, colorized and written, by bytes per sample, with a margin over what
# bench/bench_memory.py measured (between 12 and 48 MP): 8-bit gray PNG 6.9, RGB JPEG 11.5 (the table path);
# 16-bit RGB TIFF 17.7, 16-bit gray PNG 27.5, float gray TIFF 35.7 (the per-pixel Lab path).
BYTES_PER_PIXEL = {1: 14, 2: 36, 4: 44}
# What the runtime takes besides the photo (onnxruntime, the model, the network's activations): 180-290 MB
# measured, doubled.
BASE_BYTES = 600_000_000
# The network's activations grow with the render size, not the photo's: 296-305 bytes per pixel of the render
# (bench/bench_memory.py, render 1000 to 2000 on the shipped model), with a margin.
NETWORK_BYTES_PER_RENDER_PIXEL = 400


def check_pixel_count(width: int, height: int, what: str = "the image") -> None:
    if width < 1 or height < 1:
        raise InputError(f"{what} is empty ({width} x {height} pixels)")
    if width * height > MAX_PIXELS:
        raise InputError(
            f"{what} is too large: {width} x {height} = {width * height / 1e6:.0f} MP, "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP; scale it down first"
        )


def _cgroup_headroom() -> int | None:
    """Bytes a container (cgroup v2) may still use, when it sets a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to this process now, or None when the system does not say."""
    found = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        found = headroom if found is None else min(found, headroom)
    return found


def estimated_peak_bytes(width: int, height: int, bytes_per_sample: int, bytes_per_pixel: int | None = None) -> int:
    per_pixel = bytes_per_pixel or BYTES_PER_PIXEL.get(bytes_per_sample, max(BYTES_PER_PIXEL.values()))
    return BASE_BYTES + width * height * per_pixel


def check_declared_size(
    width: int,
    height: int,
    bytes_per_sample: int,
    what: str = "the image",
    bytes_per_pixel: int | None = None,
    samples: int = 4,
) -> None:
    """Refuse, before decoding, a photo above MAX_PIXELS or one that would not fit in the free memory
    (``bytes_per_pixel``: what each pixel will cost, when not a photo's BYTES_PER_PIXEL; ``samples``: per pixel as
    stored, whose decoded copy costs its own memory when there are more than the 4 a photo has)."""
    check_pixel_count(width, height, what)
    need = estimated_peak_bytes(width, height, bytes_per_sample, bytes_per_pixel)
    if samples > 4:  # a TIFF of 300 samples a pixel decodes them all before the first 4 are kept
        need += width * height * samples * bytes_per_sample
    free = available_memory()
    if free is not None and need > free:
        raise InputError(
            f"{what} ({width} x {height}, {width * height / 1e6:.0f} MP) needs about {need / 1e9:.1f} GB of memory "
            f"to colorize, and {free / 1e9:.1f} GB is free; close other programs or scale it down"
        )


def check_render_memory(height: int, width: int) -> None:
    """Refuse a render size whose network pass would not fit in the free memory (``--render-size 4000`` on a
    12 MP photo needs gigabytes), before the network starts."""
    need, free = height * width * NETWORK_BYTES_PER_RENDER_PIXEL, available_memory()
    if free is not None and need > free:
        raise InputError(
            f"rendering at {width} x {height} needs about {need / 1e9:.1f} GB of memory for the network, and "
            f"{free / 1e9:.1f} GB is free; choose a smaller render size (the model's default is the usual choice)"
        )
