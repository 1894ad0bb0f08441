"""Peak memory of the `colorize` command per photo kind and size, each in a fresh process, as bytes per pixel.

These figures set gimp_plugin/core/limits.py's BYTES_PER_PIXEL, which refuses a photo before decoding when it would
not fit in the free memory. Run: .venv/bin/python bench/bench_memory.py [--megapixels 12 48] [--model M]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KINDS = {  # name -> (file name, pixels of a height x width photo)
    "gray 8-bit PNG": ("photo.png", lambda h, w, base: base),
    "RGB 8-bit JPEG": ("photo.jpg", lambda h, w, base: np.repeat(base[..., None], 3, axis=2)),
    "gray 16-bit PNG": ("photo16.png", lambda h, w, base: base.astype(np.uint16) * 257),
    "gray float TIFF": ("photo32.tif", lambda h, w, base: base.astype(np.float32) / 255),
    "RGB 16-bit TIFF": (
        "photo16.tif",
        lambda h, w, base: np.repeat(base[..., None], 3, axis=2).astype(np.uint16) * 257,
    ),
}


def peak_rss_of(command: list[str]) -> int:
    """Peak resident memory (bytes) of a child process; the children's maximum is read right after it ends."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(command, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("the child's peak was not above an earlier child's: run one size per process")
    return after * 1024


def measure(kind: str, megapixels: float, model: str | None) -> tuple[int, int]:
    from gimp_plugin.images.writing import write_image

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rng = np.random.default_rng(0)
    base = (rng.random((height, width)) * 255).astype(np.uint8)
    name, make = KINDS[kind]
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / name
        write_image(source, make(height, width, base))
        del base
        output = Path(folder) / ("out" + source.suffix)
        command = [sys.executable, "-m", "gimp_plugin.cli", str(source), "-o", str(output), "-q"]
        command += ["--model", model] if model else []
        return peak_rss_of(command), width * height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[12, 48])
    parser.add_argument("--model")
    parser.add_argument("--kind", choices=list(KINDS), nargs="+", default=list(KINDS))
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one measurement per process: ru_maxrss only ever grows
        peak, pixels = measure(args.kind[0], args.megapixels[0], args.model)
        print(json.dumps({"peak": peak, "pixels": pixels}))
        return 0
    for kind in args.kind:
        rows = []
        for megapixels in args.megapixels:
            command = [sys.executable, __file__, "--one", "--megapixels", str(megapixels), "--kind", kind]
            command += ["--model", args.model] if args.model else []
            rows.append(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
            print(f"{kind:>16} {megapixels:5.0f} MP: peak {rows[-1]['peak'] / 1e9:.2f} GB")
        if len(rows) > 1:  # the cost of each extra pixel, whatever the process's fixed part
            slope = (rows[-1]["peak"] - rows[0]["peak"]) / (rows[-1]["pixels"] - rows[0]["pixels"])
            print(
                f"{kind:>16}: {slope:.1f} bytes per pixel, {(rows[0]['peak'] - slope * rows[0]['pixels']) / 1e6:.0f}"
                " MB fixed"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
