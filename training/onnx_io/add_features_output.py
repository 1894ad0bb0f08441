"""Give an exported fusion-effnet model (contract 1) the optional ``features`` output of contract 2, in place of
exporting it again: the encoder's stride-8 tensor (the skip input of the second decoder block) becomes an output,
and the metadata says contract 2 and the stride. The weights and the ``ab`` output are untouched (checked).

    .venv/bin/python -m training.onnx_io.add_features_output gimp_plugin/models/colorize.onnx -o out.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from gimp_plugin.core import contract
from training.networks.generators import FEATURE_STRIDE

SKIP_CONCAT = "/decoder.1/Concat_2"  # concatenates the upsampled decoder state and the stride-8 skip


def with_features(model: onnx.ModelProto) -> onnx.ModelProto:
    node = next((n for n in model.graph.node if n.name == SKIP_CONCAT), None)
    if node is None:
        raise SystemExit(f"no node {SKIP_CONCAT}: this is not a colorize-export fusion-effnet model")
    if any(output.name == contract.OUTPUT_FEATURES for output in model.graph.output):
        raise SystemExit("the model already has a features output")
    model.graph.node.append(helper.make_node("Identity", [node.input[1]], [contract.OUTPUT_FEATURES]))
    model.graph.output.append(
        helper.make_tensor_value_info(contract.OUTPUT_FEATURES, TensorProto.FLOAT, ["N", "C", "h", "w"])
    )
    props = {entry.key: entry.value for entry in model.metadata_props}
    props.update({contract.KEY_CONTRACT: contract.CONTRACT_VERSION, contract.KEY_FEATURE_STRIDE: str(FEATURE_STRIDE)})
    del model.metadata_props[:]
    helper.set_model_props(model, props)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="add_features_output", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.output.exists():
        raise SystemExit(f"{args.output} exists")
    onnx.save(with_features(onnx.load(str(args.model))), str(args.output))
    from gimp_plugin.core.session import ColorizationModel

    before, after = ColorizationModel(args.model), ColorizationModel(args.output)
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 1, 96, 128)).astype(np.float32)
    same = np.array_equal(before.predict(lightness), after.predict(lightness))
    features = after.features(lightness)
    print(f"wrote {args.output}: ab unchanged: {same}; features {list(features.shape)} at stride {FEATURE_STRIDE}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
