"""Helpers for the plug-in tests: load a plug-in file against the fake GIMP modules, and a plug-in folder whose
config points at a test model."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUBS = Path(__file__).resolve().parent / "stubs"


def load_plugin(path: Path, stub_dir: str, name: str):
    """Import the plug-in file at ``path`` with ``tests/stubs/<stub_dir>`` first on sys.path."""
    stubs = str(STUBS / stub_dir)
    if stubs not in sys.path:
        sys.path.insert(0, stubs)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would
    spec.loader.exec_module(module)
    return module


def unload_stubs(stub_dir: str, module_names: tuple[str, ...]) -> None:
    stubs = str(STUBS / stub_dir)
    if stubs in sys.path:
        sys.path.remove(stubs)
    for name in list(sys.modules):
        if name.split(".")[0] in module_names:
            del sys.modules[name]


def plugin_folder(tmp_path: Path, model_path: Path, python: str | None = None) -> Path:
    """A plug-in folder like install.sh makes, whose models folder holds ``model_path`` as colorize.onnx."""
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    shutil.copy(model_path, models / "colorize.onnx")
    folder = tmp_path / "plug-in"
    folder.mkdir(exist_ok=True)
    config = {"project": str(ROOT), "python": python or sys.executable, "models": str(models)}
    (folder / "colorize-config.json").write_text(json.dumps(config))
    return folder
