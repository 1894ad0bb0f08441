"""Checkpoints (training/runs/checkpoint.py): damaged or foreign files get a message."""

from __future__ import annotations

import pytest


def test_a_truncated_or_foreign_checkpoint_gets_a_message(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.onnx_io import export

    (tmp_path / "truncated.pt").write_bytes(b"PK\x03\x04 not really")
    assert export.main([str(tmp_path / "truncated.pt"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    __import__("torch").save({"weights": 1}, tmp_path / "foreign.pt")
    assert export.main([str(tmp_path / "foreign.pt"), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "not a colorize-train checkpoint" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()
