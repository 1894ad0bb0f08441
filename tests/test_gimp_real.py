"""Colorize inside a real GIMP 3: gimp-console-3.0 on PATH, or the Debian trixie chroot that
tests/gimp_real/build_chroot.sh builds (root only). Skipped, with the reason, when neither is available.

One GIMP run executes every scenario of tests/gimp_real/scenarios.py through the PDB, like a user's script would,
and the tests check the pixels it recorded. A second run forces the worker path (COLORIZE_FORCE_WORKER=1).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gimp_plugin import color
from tests.onnx_models import save_model

pytestmark = pytest.mark.gimp
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "gimp_real" / "scenarios.py"
CHROOT = Path(os.environ.get("COLORIZE_GIMP_CHROOT", "/var/cache/colorize/gimp3-trixie"))
CHROOT_VENV_PYTHON = "/opt/colorize-venv/bin/python"


def gimp_launcher() -> tuple[list[str], str] | None:
    """(command prefix, the Python the plug-in's worker uses), or None."""
    if shutil.which("gimp-console-3.0"):
        return [], str(ROOT / ".venv" / "bin" / "python")
    if (CHROOT / ".colorize-ready").is_file() and os.geteuid() == 0 and shutil.which("unshare"):
        return ["chroot"], CHROOT_VENV_PYTHON
    return None


def skip_reason() -> str:
    if os.geteuid() != 0:
        return "no gimp-console-3.0 on PATH, and building the GIMP 3 chroot needs root"
    return f"no gimp-console-3.0 on PATH and no GIMP 3 chroot at {CHROOT} (run tests/gimp_real/build_chroot.sh)"


def run_gimp(workdir: Path, python: str, in_chroot: bool, extra_env: dict[str, str]) -> dict:
    profile = workdir / "profile"
    plugin_dir = profile / "plug-ins" / "colorize"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "gimp_plugin" / "gimp3" / "colorize.py", plugin_dir / "colorize.py")
    os.chmod(plugin_dir / "colorize.py", 0o755)
    config = {"project": str(ROOT), "python": python, "models": str(workdir / "models")}
    (plugin_dir / "colorize-config.json").write_text(json.dumps(config))
    results = workdir / f"results-{len(list(workdir.glob('results-*')))}.json"
    env = {"GIMP3_DIRECTORY": str(profile), "HOME": str(workdir), "COLORIZE_RESULTS": str(results), **extra_env}
    gimp = ["gimp-console-3.0", "-idf", "--batch-interpreter=python-fu-eval", "-b", "-", "--quit"]
    if in_chroot:
        # The repository and the work folder appear at the same paths inside, so every path above holds there.
        mounts = " && ".join(f'mkdir -p "$R{p}" && mount --bind "{p}" "$R{p}"' for p in (str(ROOT), str(workdir)))
        script = f'R="{CHROOT}"; mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && {mounts} && '
        script += 'exec chroot "$R" env ' + " ".join(f"{k}={v}" for k, v in env.items()) + " " + " ".join(gimp)
        command = ["unshare", "-m", "--", "bash", "-c", script]
        process_env = None
    else:
        command, process_env = gimp, {**os.environ, **env}
    with open(SCENARIOS, "rb") as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, timeout=600, env=process_env)
    if not results.is_file():
        output = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
        raise AssertionError(f"GIMP exited {done.returncode} without results:\n{output}")
    return json.loads(results.read_text())


@pytest.fixture(scope="module")
def gimp_results(tmp_path_factory):
    launcher = gimp_launcher()
    if launcher is None:
        pytest.skip(skip_reason())
    prefix, python = launcher
    workdir = tmp_path_factory.mktemp("gimp3")
    models = workdir / "models"
    models.mkdir()
    save_model(models / "colorize.onnx")
    (models / "broken.onnx").write_bytes(b"this is not an ONNX model")
    in_chroot = prefix == ["chroot"]
    results = run_gimp(workdir, python, in_chroot, {"COLORIZE_SCENARIOS": "all"})
    results.update(run_gimp(workdir, python, in_chroot, {"COLORIZE_SCENARIOS": "worker", "COLORIZE_FORCE_WORKER": "1"}))
    return results


def layer_pixels(result: dict, index: int = 0) -> np.ndarray:
    data = base64.b64decode(result["layers"][index]["pixels"])
    return np.frombuffer(data, np.uint8).reshape(result["height"], result["width"], 4)


def before_pixels(result: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(result["before"]), np.uint8).reshape(result["height"], result["width"], 4)


def mean_chroma(rgba: np.ndarray) -> float:
    lab = color.rgb_to_lab(rgba[..., :3] / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def scenario(results: dict, name: str) -> dict:
    result = results[name]
    assert "crashed" not in result, result.get("crashed")
    return result


def test_procedure_is_registered_in_the_filters_menu(gimp_results):
    registration = gimp_results["registration"]
    assert registration["found"]
    assert "<Image>/Filters/Colors" in registration["menu_paths"]
    assert {"model", "render-size", "saturation", "output", "use-selection", "hint-layer"} <= set(
        registration["arguments"]
    )


def test_gray_image_comes_out_rgb_and_colored(gimp_results):
    result = scenario(gimp_results, "gray_new_layer")
    assert result["ok"], result["message"]
    assert result["rgb"] and [layer["name"] for layer in result["layers"]] == ["scan (colorized)", "scan"]
    assert mean_chroma(layer_pixels(result, 0)) > 10
    source = layer_pixels(result, 1)
    assert np.abs(source[..., :3].astype(int) - before_pixels(result)[..., :3]).max() <= 1, "the source is kept"


def test_two_selected_layers_are_both_processed(gimp_results):
    result = scenario(gimp_results, "two_layers_replace")
    assert result["ok"], result["message"]
    assert all(mean_chroma(layer_pixels(result, index)) > 10 for index in range(2))


def test_selection_limits_the_change(gimp_results):
    result = scenario(gimp_results, "selection")
    assert result["ok"], result["message"]
    after, before = layer_pixels(result).astype(int), before_pixels(result).astype(int)
    assert np.abs(after[:, 34:] - before[:, 34:]).max() <= 1
    assert mean_chroma(layer_pixels(result)[:, :30]) > 10


def test_a_broken_model_leaves_the_image_unchanged_and_says_why(gimp_results):
    result = scenario(gimp_results, "broken_model")
    assert not result["ok"] and "not changed" in result["message"]
    assert not result["rgb"] and len(result["layers"]) == 1
    assert np.array_equal(layer_pixels(result), before_pixels(result))


def test_a_hint_stroke_moves_the_color_toward_it(gimp_results):
    result = scenario(gimp_results, "hints")
    assert result["ok"], result["message"]
    names = [layer["name"] for layer in result["layers"]]
    photo = layer_pixels(result, names.index("photo"))
    lab = color.rgb_to_lab(photo[..., :3] / 255.0)
    assert lab[12:18, 12:28, 2].mean() < -10, "blue where the stroke is (the test model paints b* = +30)"
    assert lab[30:, 40:, 2].mean() > 10
    assert result["layers"][names.index("Color hints")]["visible"] is False


def test_the_worker_path_works_in_gimp(gimp_results):
    result = scenario(gimp_results, "worker")
    assert result["ok"], result["message"]
    assert mean_chroma(layer_pixels(result)) > 10
