"""The float16-weight model file beside its float32 twin: file size, network time at --size (default: the model's
render size; the two measured in turn in one run, medians), and the largest ab difference on real photos.

Run: .venv/bin/python bench/bench_half_weights.py --float32 runs/x.f32.onnx --float16 gimp_plugin/models/colorize.onnx
     [--photos ../shared/data/val_general] [--repeats 30]
Targets: the float16 file <= 15 MB, its network time within 10 % of the float32 one, max |delta ab| <= 0.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gimp_plugin.core import color  # noqa: E402
from gimp_plugin.core.pipeline import predict_chroma  # noqa: E402
from gimp_plugin.core.render import render_shape  # noqa: E402
from gimp_plugin.core.session import ColorizationModel  # noqa: E402
from gimp_plugin.images.reading import IMAGE_EXTENSIONS  # noqa: E402


def lightness_at_render_size(path: Path, render: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        image = image.resize(render_shape(image.height, image.width, render)[::-1], Image.Resampling.BOX)
        return color.rgb_to_lightness(np.asarray(image, np.float32) / 255)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--float32", type=Path, required=True)
    parser.add_argument("--float16", type=Path, required=True)
    parser.add_argument("--photos", type=Path, help="folder of color photos for the ab difference")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, help="square input side for the timing (default: the render size)")
    args = parser.parse_args()
    models = {
        name: ColorizationModel(path, device="cpu", threads=args.threads)
        for name, path in (("float32", args.float32), ("float16", args.float16))
    }
    for name, path in (("float32", args.float32), ("float16", args.float16)):
        print(f"{name} weights: {path.stat().st_size / 1e6:.1f} MB")
    size = args.size or models["float16"].info.default_render_size
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 1, size, size)).astype(np.float32)
    times = {name: [] for name in models}
    for model in models.values():
        model.predict(lightness)  # warm-up
    for _ in range(args.repeats):  # in turn, so that the machine's drift hits both alike
        for name, model in models.items():
            started = time.perf_counter()
            model.predict(lightness)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name}: network at {size}x{size}, median of {args.repeats}: {median * 1000:.1f} ms")
    print(f"float16 / float32 time: {medians['float16'] / medians['float32']:.3f}")
    if args.photos:
        worst, photos = 0.0, sorted(p for p in args.photos.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        for path in photos:
            small = lightness_at_render_size(path, models["float32"].info.default_render_size)
            a, b = (predict_chroma(model, small) for model in models.values())
            worst = max(worst, float(np.abs(a - b).max()))
        print(f"max |delta ab| over {len(photos)} photos at the render size: {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
