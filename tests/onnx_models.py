"""Tiny ONNX models built with onnx.helper, so runtime tests never depend on the shipped model.

The default model paints a* = A_PER_L * (L - 50) + A_OFFSET and b* = B_CONSTANT, and where hints are given it
returns the hint's ab instead: easy to predict, and it exercises every input of the contract.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from gimp_plugin.core.contract import ModelInfo

A_PER_L = 0.4
A_OFFSET = 10.0
B_CONSTANT = 30.0

TEST_INFO = ModelInfo(
    arch="test-affine",
    native_size=64,
    default_render_size=64,
    size_multiple=8,
    hints=True,
    trained_on="nothing (test model)",
    version="0.0.0",
)


def _tensor(name: str, channels: int | str, fixed_hw: bool = False):
    dims = ["N", channels, 64 if fixed_hw else "H", 64 if fixed_hw else "W"]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def _constant(name: str, values: list[float], shape: list[int]):
    return helper.make_node(
        "Constant", [], [name], value=helper.make_tensor(name + "_value", TensorProto.FLOAT, shape, values)
    )


def build_model(
    info: ModelInfo = TEST_INFO,
    *,
    with_hints: bool = True,
    input_name: str = "L",
    output_name: str = "ab",
    metadata: dict[str, str] | None = None,
    fixed_hw: bool = False,
    gain: float = 1.0,
    features: bool = False,
) -> onnx.ModelProto:
    """An affine colorizer following (or, through the keyword arguments, breaking) the model contract; ``gain``
    multiplies what it paints."""
    nodes = [
        _constant("scale", [A_PER_L * gain, 0.0], [1, 2, 1, 1]),
        _constant("offset", [(A_OFFSET - 50 * A_PER_L) * gain, B_CONSTANT * gain], [1, 2, 1, 1]),
        helper.make_node("Mul", [input_name, "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "offset"], ["predicted"]),
    ]
    inputs = [_tensor(input_name, 1, fixed_hw)]
    if with_hints:
        inputs += [_tensor("hint_ab", 2, fixed_hw), _tensor("hint_mask", 1, fixed_hw)]
        nodes += [
            _constant("one", [1.0], [1, 1, 1, 1]),
            helper.make_node("Sub", ["one", "hint_mask"], ["unhinted"]),
            helper.make_node("Mul", ["predicted", "unhinted"], ["kept"]),
            helper.make_node("Mul", ["hint_ab", "hint_mask"], ["hinted"]),
            helper.make_node("Add", ["kept", "hinted"], [output_name]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["predicted"], [output_name]))
    outputs = [_tensor(output_name, 2, fixed_hw)]
    if features:  # contract 2: features of each 8 x 8 cell (its L mean, and local contrast), as a real encoder's
        nodes += [
            helper.make_node("AveragePool", [input_name], ["cell_mean"], kernel_shape=[8, 8], strides=[8, 8]),
            helper.make_node("Mul", [input_name, input_name], ["squared"]),
            helper.make_node("AveragePool", ["squared"], ["cell_square"], kernel_shape=[8, 8], strides=[8, 8]),
            helper.make_node("Mul", ["cell_mean", "cell_mean"], ["mean_squared"]),
            helper.make_node("Sub", ["cell_square", "mean_squared"], ["cell_variance"]),
            _constant("base", [30.0], [1, 1, 1, 1]),
            helper.make_node("Add", ["cell_variance", "base"], ["spread"]),
            helper.make_node("Concat", ["cell_mean", "spread"], ["features"], axis=1),
        ]
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 2, "h", "w"]))
    graph = helper.make_graph(nodes, "test_colorizer", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if features and metadata is None:
        from dataclasses import replace

        info = replace(info, feature_stride=8)
    props = info.to_metadata() if metadata is None else metadata
    if not with_hints and metadata is None:
        props["colorize.hints"] = "false"
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model


def save_model(path: Path, **kwargs) -> Path:
    onnx.save(build_model(**kwargs), str(path))
    return path
