"""Loading a model (gimp_plugin/core/session.py): files that cannot work are refused on load, in words."""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx import TensorProto, helper

from gimp_plugin.core import contract
from gimp_plugin.core.errors import ModelError
from gimp_plugin.core.session import ColorizationModel, load_model
from tests.cli_runs import run, save_gray
from tests.onnx_models import TEST_INFO, build_model, save_model


def _model_of(path: Path, nodes: list, channels="C") -> Path:
    """A hint-less model whose "ab" output is declared with ``channels`` channels and dynamic H, W."""
    import onnx

    graph = helper.make_graph(
        nodes,
        "broken",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", channels, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {**TEST_INFO.to_metadata(), "colorize.hints": "false"})
    onnx.save(model, str(path))
    return path


def test_models_asking_for_absurd_sizes_or_painting_garbage_are_refused(tmp_path, gray_u8):
    from dataclasses import replace

    with pytest.raises(ModelError, match="size_multiple"):
        ColorizationModel(save_model(tmp_path / "m.onnx", info=replace(TEST_INFO, size_multiple=100000)))
    with pytest.raises(ModelError, match="test run .* far outside the Lab range"):  # found on load, not per photo
        ColorizationModel(save_model(tmp_path / "g.onnx", gain=1e6))


def test_a_missing_colorize_model_file_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODEL", str(tmp_path / "none.onnx"))
    with pytest.raises(ModelError, match="COLORIZE_MODEL is set to"):
        load_model()


def test_models_that_cannot_work_are_refused_on_load(tmp_path):
    import onnx

    three = [helper.make_node("Concat", ["L", "L", "L"], ["ab"], axis=1)]
    with pytest.raises(ModelError, match="ab must have 2 channel"):
        ColorizationModel(_model_of(tmp_path / "three.onnx", three))
    # Shapes as the contract says, output garbage (square roots of negative L): refused on load by the test run.
    garbage = [
        helper.make_node("Neg", ["L"], ["negative"]),
        helper.make_node("Sqrt", ["negative"], ["root"]),
        helper.make_node("Concat", ["root", "root"], ["ab"], axis=1),
    ]
    with pytest.raises(ModelError, match="test run at 64 x 64 failed .*NaN"):
        ColorizationModel(_model_of(tmp_path / "nan.onnx", garbage, channels=2))
    fixed = build_model()
    for tensor in [*fixed.graph.input, *fixed.graph.output]:
        tensor.type.tensor_type.shape.dim[0].dim_value = 4
    onnx.save(fixed, str(tmp_path / "batch4.onnx"))
    with pytest.raises(ModelError, match="batch size"):
        ColorizationModel(tmp_path / "batch4.onnx")
    from dataclasses import replace

    huge = save_model(tmp_path / "huge.onnx", info=replace(TEST_INFO, default_render_size=100000))
    with pytest.raises(ModelError, match=f"above the contract's limit {contract.MAX_RENDER_SIZE}"):
        ColorizationModel(huge)
    with pytest.raises(ModelError, match="is a folder"):
        ColorizationModel(tmp_path)


def test_an_empty_model_path_is_refused_in_words(tmp_path, capsys):
    save_gray(tmp_path / "photo.png")
    with pytest.raises(SystemExit):
        run(tmp_path / "photo.png", "-o", tmp_path / "o.png", "--model", "")
    assert "--model: the path is empty" in capsys.readouterr().err
