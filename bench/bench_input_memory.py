"""Peak memory of the inputs that used to cost far more than their photo, each in a fresh process:

- a multi-page TIFF (400 pages of 1000 x 750): only the first page may be decoded, so it should cost what a
  one-page TIFF costs;
- a TIFF of 300 samples a pixel: decoded whole, and the memory check before decoding must count that;
- a 20000 x 20000 RGBA hint image: reduced as it is read, it should cost its 8-bit pixels once (1.6 GB), not twice;
- the render size: the network's memory per pixel of the render (what limits.NETWORK_BYTES_PER_RENDER_PIXEL holds).

Run: .venv/bin/python bench/bench_input_memory.py [--skip-hints] [--render-sizes 384 1000 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python; returns the JSON object it prints last, with its own peak resident memory."""
    own_peak = """
import resource
result["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(result))"""
    done = subprocess.run(
        [sys.executable, "-c", code + own_peak, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "peak": result["peak"] * 1024}


READ = """import json, sys
from gimp_plugin.images.reading import read_image
loaded = read_image(sys.argv[1])
result = {"shape": list(loaded.pixels.shape), "notes": loaded.notes}"""

HINTS = """import json, sys
from gimp_plugin.images.hint_files import read_hints
hints = read_hints(sys.argv[1], (288, 288))
result = {"hinted cells": hints.count}"""

COLORIZE = """import json, sys
from gimp_plugin.cli import main
result = {"exit": main([sys.argv[1], "-o", sys.argv[2], "--render-size", sys.argv[3], "-q", "--overwrite"])}"""


def multipage(folder: Path) -> None:
    import tifffile

    page = np.add.outer(np.arange(750) // 3, np.arange(1000) // 4).astype(np.uint8)  # compresses as scans do
    tifffile.imwrite(folder / "one.tif", page, compression="zlib")
    tifffile.imwrite(
        folder / "pages.tif", np.broadcast_to(page, (400, *page.shape)), photometric="minisblack", compression="zlib"
    )
    one, many = _child(READ, str(folder / "one.tif")), _child(READ, str(folder / "pages.tif"))
    size = (folder / "pages.tif").stat().st_size / 1e6
    print(
        f"multi-page TIFF: 1 page {one['peak'] / 1e6:.0f} MB; 400 pages ({size:.1f} MB file) "
        f"{many['peak'] / 1e6:.0f} MB, read as {many['shape']}; note: {many['notes']}"
    )


ESTIMATE = """import json, sys
from gimp_plugin.core import limits
width, height, samples = map(int, sys.argv[1:4])
need = limits.estimated_peak_bytes(width, height, 1) + (width * height * samples if samples > 4 else 0)
result = {"estimate": need}"""


def many_samples(folder: Path, side: int = 3000, samples: int = 300) -> None:
    """A TIFF of ``samples`` 8-bit samples a pixel: decoded whole before the first 4 are kept. The memory check
    must count them all (it once estimated a 3000 x 3000 x 300 file at 0.73 GB; reading it peaked at 2.86 GB)."""
    import tifffile

    rows = np.add.outer(np.arange(side) // 7, np.arange(side) // 5).astype(np.uint8)
    with tifffile.TiffWriter(folder / "samples.tif") as tiff:
        tiff.write(
            np.broadcast_to(rows[..., None], (side, side, samples)),
            photometric="minisblack",
            planarconfig="contig",
            compression="zlib",
            extrasamples=[0] * (samples - 1),
        )
    size = (folder / "samples.tif").stat().st_size / 1e6
    read = _child(READ, str(folder / "samples.tif"))
    estimate = _child(ESTIMATE, str(side), str(side), str(samples))["estimate"]
    print(
        f"{side} x {side} TIFF of {samples} samples a pixel ({size:.0f} MB file): read at a peak of "
        f"{read['peak'] / 1e9:.2f} GB; the check before decoding estimates {estimate / 1e9:.2f} GB"
    )


def huge_hints(folder: Path) -> None:
    from PIL import Image

    side = 20000
    hint = Image.new("RGBA", (side, side))
    hint.paste((255, 0, 0, 255), (100, 100, 140, 140))
    hint.save(folder / "hints.png", compress_level=1)
    del hint
    result = _child(HINTS, str(folder / "hints.png"))
    print(
        f"{side} x {side} RGBA hint image: peak {result['peak'] / 1e9:.2f} GB (its 8-bit pixels: "
        f"{side * side * 4 / 1e9:.2f} GB), {result['hinted cells']} hinted cells"
    )


def render_sizes(folder: Path, sizes: list[int]) -> None:
    from PIL import Image

    photo = folder / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((1500, 2000)) * 255).astype(np.uint8)).save(photo)
    rows = []
    for size in sizes:
        result = _child(COLORIZE, str(photo), str(folder / "out.png"), str(size))
        if result["exit"] != 0:
            raise RuntimeError(f"colorize failed at render size {size}")
        peak = result["peak"]
        render_pixels = min(size, 2000) * round(min(size, 2000) * 0.75)
        rows.append((render_pixels, peak))
        print(f"2000 x 1500 photo, render {size}: peak {peak / 1e9:.2f} GB")
    for (small_px, small_peak), (large_px, large_peak) in zip(rows, rows[1:], strict=False):
        print(
            f"  {(large_peak - small_peak) / (large_px - small_px):.0f} bytes per render pixel "
            f"between {small_px / 1e6:.2f} and {large_px / 1e6:.2f} MP"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-hints", action="store_true", help="skip the 20000 x 20000 hint image (1.6 GB)")
    parser.add_argument("--render-sizes", type=int, nargs="+", default=[384, 1000, 2000])
    parser.add_argument("--skip-samples", action="store_true", help="skip the 300-sample TIFF (2.7 GB decoded)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        multipage(Path(folder))
        if not args.skip_samples:
            many_samples(Path(folder))
        if not args.skip_hints:
            huge_hints(Path(folder))
        render_sizes(Path(folder), args.render_sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
