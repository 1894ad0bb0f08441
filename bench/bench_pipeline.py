"""Whole-pipeline benchmark: a synthetic 12 MP and 48 MP photo through read / convert / infer / upsample / write,
with peak RSS, plus the network alone at the render size (the model's, unless --render-size).
Run: .venv/bin/python bench/bench_pipeline.py [--model M]

Two kinds of photo: "gray" (an 8-bit gray JPEG: the table path of gimp_plugin/core/table8.py over its gray levels)
and "sepia" (a toned scan saved as RGB, so R, G and B differ: the same table over L* coded in 256 steps, which
first costs a per-pixel L*). 16-bit and float photos take the general per-pixel Lab path, which this does not time.

Each size runs in a fresh process so its peak RSS is its own; within it the photo goes through the pipeline
--repeats times and each stage reports its median (a shared machine's timings vary from run to run). Targets for
the shipped model on 2 CPU cores: 12 MP end to end <= 1.0 s and <= 1 GB; 48 MP <= 2 GB; pre/post-processing
cheaper than the network.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {12: (3000, 4000), 48: (6000, 8000)}


def synthetic_photo(height: int, width: int) -> np.ndarray:
    """A gray 'photo': smooth shapes plus grain, so JPEG coding costs what it costs on real scans."""
    rng = np.random.default_rng(0)
    coarse = rng.random((height // 64 + 2, width // 64 + 2)).astype(np.float32)
    from gimp_plugin.core.resample import bilinear_resize

    smooth = bilinear_resize(coarse[None], height, width)[0]
    grain = rng.normal(0, 0.03, (height, width)).astype(np.float32)
    return (np.clip(smooth * 0.8 + 0.1 + grain, 0, 1) * 255).astype(np.uint8)


def toned(gray: np.ndarray) -> np.ndarray:
    """The gray photo as a sepia-toned RGB scan."""
    tint = np.array([1.0, 0.88, 0.7], np.float32)
    return np.round(gray[..., None] * tint).astype(np.uint8)


def run_one(
    megapixels: int, kind: str, model_path: str | None, threads: int | None, render_size: int, repeats: int
) -> dict:
    from PIL import Image

    from gimp_plugin.core.pipeline import colorize
    from gimp_plugin.core.session import load_model
    from gimp_plugin.images.reading import read_image
    from gimp_plugin.images.writing import write_image

    height, width = SIZES[megapixels]
    folder = Path(tempfile.mkdtemp())
    source = folder / "photo.jpg"
    photo = synthetic_photo(height, width)
    Image.fromarray(photo if kind == "gray" else toned(photo)).save(source, quality=92)
    model = load_model(model_path, threads=threads)
    colorize(np.zeros((64, 64), np.uint8), model, render_size=render_size)  # warm-up: session and thread pool
    runs = []
    for _ in range(repeats):
        timings: dict[str, float] = {}
        start = time.perf_counter()
        pixels = read_image(source).pixels
        timings["read"] = time.perf_counter() - start
        result = colorize(pixels, model, render_size=render_size, threads=threads, timings=timings)
        mark = time.perf_counter()
        write_image(folder / "out.jpg", result, overwrite=True)
        timings["write"] = time.perf_counter() - mark
        timings["total"] = time.perf_counter() - start
        timings["pre+post"] = timings["convert"] + timings["upsample"]
        runs.append(timings)
        del pixels, result
    medians = {name: float(np.median([run[name] for run in runs])) for name in runs[0]}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"megapixels": megapixels, "kind": kind, "timings_s": medians, "peak_rss_mb": peak_mb}


def network_only(model_path: str | None, threads: int | None, size: int | None, repeats: int = 10) -> tuple[int, float]:
    """(side, seconds per run) of the network alone on a square input: the render size, or the model's."""
    from gimp_plugin.core.session import load_model

    model = load_model(model_path, threads=threads)
    size = size or model.info.default_render_size
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 1, size, size)).astype(np.float32)
    model.predict(lightness)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict(lightness)
    return size, (time.perf_counter() - start) / repeats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="ONNX model (default: the shipped one)")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--render-size", type=int, help="default: the model's own")
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 48], choices=sorted(SIZES))
    parser.add_argument("--kinds", nargs="+", default=["gray", "sepia"], choices=["gray", "sepia"])
    parser.add_argument("--repeats", type=int, default=5, help="pipeline runs per photo; medians are printed")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.kinds[0], args.model, args.threads, args.render_size, args.repeats)))
        return 0
    side, seconds = network_only(args.model, args.threads, args.render_size)
    print(f"network alone at {side} x {side}: {seconds * 1000:.0f} ms")
    header = ("photo", "read", "convert", "infer", "upsample", "write", "total", "pre+post", "peak RSS")
    print(f"{header[0]:>10}" + "".join(f"{name:>9}" for name in header[1:]))
    for megapixels in args.sizes:
        for kind in args.kinds:
            command = [sys.executable, __file__, "--one", str(megapixels), "--kinds", kind]
            command += ["--repeats", str(args.repeats)]
            command += ["--render-size", str(args.render_size)] if args.render_size else []
            command += ["--model", args.model] if args.model else []
            command += ["--threads", str(args.threads)] if args.threads else []
            row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            t = row["timings_s"]
            cells = [t[name] for name in ("read", "convert", "infer", "upsample", "write", "total", "pre+post")]
            print(
                f"{f'{megapixels} MP {kind}':>10}"
                + "".join(f"{value:>9.3f}" for value in cells)
                + f"{row['peak_rss_mb']:>6.0f} MB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
