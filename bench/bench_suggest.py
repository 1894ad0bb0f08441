"""What the uncertainty map and the suggested hint points cost at 12 MP, beside a plain run, in one run.

The plain run is `pipeline.colorize` (what `colorize photo.jpg -o out.png` computes); the suggestion path is what
`--suggest-hints 10` computes instead: the analysis (L at the render size, the network on the photo and on its
mirror image, the expected error), 10 points and the dots image at full size; and, apart, the full-size picture
that `--uncertainty-map` writes.
Medians of a few repetitions, after one warm-up. Run: .venv/bin/python bench/bench_suggest.py [--model M]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_seconds  # noqa: E402  (bench/timing.py)

from gimp_plugin.core.pipeline import colorize  # noqa: E402
from gimp_plugin.core.render import prepare  # noqa: E402
from gimp_plugin.core.session import load_model  # noqa: E402
from gimp_plugin.guidance import suggest, uncertainty  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    model = load_model(args.model)
    width = int(round((args.megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rows, columns = np.mgrid[0:height, 0:width]
    photo = ((np.sin(columns / 37.0) * 60 + rows * 120 / height + 60) % 256).astype(np.uint8)  # gray, with texture

    def plain():
        colorize(photo, model)

    def suggestions():  # what --suggest-hints 10 computes instead of a plain run
        suggest.dots_image(suggest.suggest_from(uncertainty.analyse(prepare(photo, model), model), args.count))

    analysis = uncertainty.analyse(prepare(photo, model), model)

    def picture():  # what --uncertainty-map adds: the map drawn at the photo's full size
        uncertainty.heat_map(analysis)

    base, suggested, drawn = (median_seconds(work, args.repeats) for work in (plain, suggestions, picture))
    print(
        f"{width} x {height} gray photo ({width * height / 1e6:.1f} MP), model {model.path.name}, "
        f"median of {args.repeats}:"
    )
    print(f"  plain run                                     {base:.3f} s")
    print(f"  uncertainty + {args.count} suggested points + dots image  {suggested:.3f} s ({suggested - base:+.3f} s)")
    print(f"  the uncertainty map as a full-size picture    {drawn:.3f} s (only with --uncertainty-map)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
