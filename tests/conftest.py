"""Shared fixtures: tiny ONNX models made on the fly and small synthetic images."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    from tests.onnx_models import save_model

    return save_model(tmp_path_factory.mktemp("models") / "affine.onnx")


@pytest.fixture(scope="session")
def model(model_path):
    from gimp_plugin.core.session import ColorizationModel

    return ColorizationModel(model_path, device="cpu", threads=1)


@pytest.fixture
def gray_u8() -> np.ndarray:
    """A 40 x 56 gray gradient with some texture, 8-bit."""
    y, x = np.mgrid[0:40, 0:56]
    return ((x * 4 + y * 2 + 20 * np.sin(x / 3.0)) % 256).astype(np.uint8)


@pytest.fixture
def rgb_u8() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (33, 47, 3), dtype=np.uint8)
