"""What a deeper encoder would cost at run time: the shipped network rebuilt with an EfficientNet-Lite0 encoder and
with a Lite1-deep one (random weights: time does not depend on them), exported the way `colorize-export` exports
(batch norms folded, the same ONNX export), timed at the default render size beside stage 8 and the
shipped file, all interleaved in one run.

Lite1 keeps Lite0's widths and repeats the middle stages ceil(1.1 x) as often; Lite2 is that deep and 1.1x wider
as well, so it costs more than Lite1 (not built here: its skips would need a wider decoder).

Run: .venv/bin/python bench/bench_encoders.py STAGE8.onnx SHIPPED.onnx [--repeats 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_models import compare_networks  # noqa: E402  (bench/bench_models.py)


def export_rebuilt(depth: float, path: Path) -> None:
    """The shipped architecture (fusion-effnet-bins) with an encoder ``depth`` x as deep, batch norms folded and
    exported by `colorize-export`'s own ``export_onnx``. Not its parity check: on random weights the bins head's
    logits are far outside anything trained and float32 rounding moves them; nor its float16 weight storage, which
    onnxruntime casts back at load (training/onnx_io/half_weights.py), so the timing is the same."""
    import torch

    from training.networks import effnet
    from training.networks.folding import fold_batch_norms
    from training.networks.generators import build_generator
    from training.onnx_io import export

    torch.manual_seed(0)
    generator = build_generator("fusion-effnet-bins", pretrained=False).eval()
    if depth != 1.0:
        generator.encoder = effnet.drop_classifier_head(effnet.EfficientNetLite0(effnet.deeper_stages(depth)))
    exported = fold_batch_norms(generator)
    config = {"data": [], "step": 0, "preset": "fusion-effnet-bins", "image_size": 224}
    export.export_onnx(exported, export.model_info(config, exported, 384, f"random weights, depth {depth:g}"), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage8", type=Path)
    parser.add_argument("shipped", type=Path)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rebuilt = {}
        for depth, name in ((1.0, "Lite0"), (1.1, "Lite1-deep")):
            rebuilt[f"rebuilt, {name} encoder"] = path = Path(folder, f"{name}.onnx")
            export_rebuilt(depth, path)
        paths = {"stage 8": args.stage8, "shipped": args.shipped, **rebuilt}
        compare_networks(paths, args.threads, args.repeats, "stage 8", side=384)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
