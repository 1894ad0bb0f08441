"""The runtime accepts models that follow the contract and refuses others, saying what differs."""

import pytest

from gimp_plugin.core.contract import parse_metadata
from gimp_plugin.core.errors import ModelError
from gimp_plugin.core.session import ColorizationModel, choose_providers, load_model
from tests.onnx_models import TEST_INFO, save_model


def test_a_conforming_model_loads_with_its_metadata(model):
    assert model.info == TEST_INFO
    assert model.accepts_hints


def refusal(tmp_path, **kwargs) -> str:
    path = save_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError) as error:
        ColorizationModel(path)
    return str(error.value)


def test_wrong_input_name_is_named(tmp_path):
    message = refusal(tmp_path, input_name="gray")
    assert "input 'L' is missing" in message and "'gray'" in message


def test_wrong_output_name_is_named(tmp_path):
    assert "output 'ab' is missing" in refusal(tmp_path, output_name="chroma")


def test_missing_metadata_is_listed(tmp_path):
    metadata = TEST_INFO.to_metadata()
    del metadata["colorize.size_multiple"], metadata["colorize.contract"]
    message = refusal(tmp_path, metadata=metadata)
    assert "colorize.size_multiple is missing" in message and "colorize.contract is missing" in message


def test_unknown_contract_version_is_refused(tmp_path):
    metadata = {**TEST_INFO.to_metadata(), "colorize.contract": "7"}
    assert "this runtime reads contracts 1 and 2" in refusal(tmp_path, metadata=metadata)


def test_fixed_spatial_size_is_refused(tmp_path):
    assert "dynamic H and W" in refusal(tmp_path, fixed_hw=True)


def test_hints_claimed_without_inputs_is_refused(tmp_path):
    metadata = {**TEST_INFO.to_metadata(), "colorize.hints": "true"}
    assert "hint inputs are missing" in refusal(tmp_path, with_hints=False, metadata=metadata)


def test_truncated_file_is_refused(tmp_path, model_path):
    broken = tmp_path / "truncated.onnx"
    broken.write_bytes(model_path.read_bytes()[: model_path.stat().st_size // 2])
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        ColorizationModel(broken)


def test_missing_file_and_missing_default_model_say_so(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="not found"):
        ColorizationModel(tmp_path / "nope.onnx")
    from gimp_plugin.core import session as model

    monkeypatch.delenv("COLORIZE_MODEL", raising=False)
    monkeypatch.setattr(model, "default_model_path", lambda: tmp_path / "absent.onnx")
    with pytest.raises(ModelError, match="the shipped model is missing"):
        load_model(None)


def test_model_without_hint_inputs_refuses_hints(tmp_path):
    import numpy as np

    plain = ColorizationModel(save_model(tmp_path / "plain.onnx", with_hints=False))
    lightness = np.zeros((1, 1, 8, 8), np.float32)
    assert plain.predict(lightness).shape == (1, 2, 8, 8)
    with pytest.raises(ModelError, match="cannot use color hints"):
        plain.predict(lightness, np.zeros((1, 2, 8, 8), np.float32), np.ones((1, 1, 8, 8), np.float32))


def test_metadata_values_are_checked():
    info, problems = parse_metadata({**TEST_INFO.to_metadata(), "colorize.size_multiple": "zero"})
    assert info is None and any("positive integer" in p for p in problems)


def test_cuda_request_without_cuda_is_a_clear_error():
    with pytest.raises(ModelError, match="no CUDA support"):
        choose_providers("cuda", ["CPUExecutionProvider"])
    assert choose_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == "CUDAExecutionProvider"
