"""What a reference photo costs at 12 MP with a 12 MP reference, beside a plain run, in one run; and the memory.

The plain run is `pipeline.colorize`; the reference run adds what `colorize photo --reference ref` adds: the
reference prepared (reduced to the render size, the network's features at two scales, mirrored), the photo's L* at
the render size and its features, the matching, and the colorization with the carried hints. Medians of a few
repetitions after a warm-up; peak memory of each in a fresh process.
Run: .venv/bin/python bench/bench_reference.py [--model M]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import median_seconds  # noqa: E402  (bench/timing.py)

from gimp_plugin.core.pipeline import colorize  # noqa: E402
from gimp_plugin.core.render import prepare  # noqa: E402
from gimp_plugin.core.session import load_model  # noqa: E402
from gimp_plugin.guidance import reference  # noqa: E402


def photos(megapixels: float) -> tuple[np.ndarray, np.ndarray]:
    """A gray photo and a color reference of the same made-up scene (the reference mirrored and shifted)."""
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rows, columns = np.ogrid[0:height, 0:width]
    red = ((np.sin(columns / 53.0) * 90 + 128) + rows * 0).astype(np.uint8)
    green = ((np.cos(rows / 41.0) * 90 + 128) + columns * 0).astype(np.uint8)
    blue = (((rows + columns) % 256) * 0.6).astype(np.uint8)
    color = np.stack([red, green, blue], axis=-1)
    gray = (0.3 * red + 0.59 * green + 0.11 * blue).astype(np.uint8)
    return gray, np.ascontiguousarray(np.roll(color[:, ::-1], width // 10, axis=1))


def run_once(mode: str, megapixels: float, model: str | None) -> dict:
    gray, color = photos(megapixels)
    loaded = load_model(model)
    if mode == "plain":
        colorize(gray, loaded)
    else:
        prepared = reference.prepare_reference(color, loaded)
        carried, _, _ = reference.hints_for(prepare(gray, loaded), loaded, [prepared])
        colorize(gray, loaded, hints=carried)
    import resource

    return {"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", choices=("plain", "reference"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(args.one, args.megapixels, args.model)))
        return 0
    gray, color = photos(args.megapixels)
    model = load_model(args.model)
    prepared = []

    def plain():
        colorize(gray, model)

    def with_reference():
        prepared[:] = [reference.prepare_reference(color, model)]
        carried, _, _ = reference.hints_for(prepare(gray, model), model, prepared)
        colorize(gray, model, hints=carried)

    base, referenced = median_seconds(plain, args.repeats), median_seconds(with_reference, args.repeats)
    peaks = {}
    for mode in ("plain", "reference"):
        command = [sys.executable, __file__, "--one", mode, "--megapixels", str(args.megapixels)]
        command += ["--model", args.model] if args.model else []
        peaks[mode] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["peak"]
    print(
        f"{gray.shape[1]} x {gray.shape[0]} photo and reference ({gray.size / 1e6:.1f} MP each), "
        f"model {model.path.name}, median of {args.repeats}:"
    )
    print(f"  plain run        {base:.3f} s, peak {peaks['plain'] / 1e9:.2f} GB")
    print(f"  with reference   {referenced:.3f} s ({referenced - base:+.3f} s), peak {peaks['reference'] / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
