"""Colorize inside real GIMPs: GIMP 3.0 (Debian trixie) and GIMP 3.2 (Debian forky), each in a chroot that
tests/gimp_real/build_chroot.sh builds (root only), or a `gimp-console` on PATH. Skipped, with the reason, when
none is available.

For each GIMP, one run executes every scenario of tests/gimp_real/scenarios.py through the PDB, like a user's script
would, and the tests check what it recorded; a second run forces the worker path (COLORIZE_FORCE_WORKER=1). One more
run opens the real dialog on a virtual display (Xvfb) and checks from a screenshot that its preview shows color.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from gimp_plugin.core import color
from tests.onnx_models import save_model

pytestmark = pytest.mark.gimp
ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "gimp_real" / "scenarios.py"
INTERACTIVE = ROOT / "tests" / "gimp_real" / "interactive.py"
CHROOTS = Path(os.environ.get("COLORIZE_GIMP_CHROOTS", "/var/cache/colorize"))
CHROOT_VENV_PYTHON = "/opt/colorize-venv/bin/python"
RELEASES = {"trixie": "3.0", "forky": "3.2"}  # Debian release -> the GIMP it ships
SHIPPED_MODEL = ROOT / "gimp_plugin" / "models" / "colorize.onnx"


class Gimp:
    """How to start one GIMP: in a chroot (``root``), or the host's own."""

    def __init__(self, release: str, root: Path | None):
        self.release, self.root = release, root

    @property
    def python(self) -> str:
        return CHROOT_VENV_PYTHON if self.root else str(ROOT / ".venv" / "bin" / "python")

    def command(self, script: str, env: dict[str, str], binds: list[Path]) -> tuple[list[str], dict | None]:
        """(argv, environment) that run the shell ``script`` with ``env`` in this GIMP's system."""
        if self.root is None:
            return ["bash", "-c", script], {**os.environ, **env}
        # The repository and the work folder appear at the same paths inside, so every path outside holds there.
        mounts = " && ".join(f'mkdir -p "$R{p}" && mount --bind "{p}" "$R{p}"' for p in map(str, binds))
        outer = f'R="{self.root}"; mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && {mounts} && '
        variables = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        outer += f'exec chroot "$R" env {variables} bash -c {shlex.quote(script)}'
        return ["unshare", "-m", "--", "bash", "-c", outer], None


def find_gimp(release: str) -> Gimp | None:
    root = CHROOTS / f"gimp-{release}"
    if (root / ".colorize-ready").is_file() and os.geteuid() == 0 and shutil.which("unshare"):
        return Gimp(release, root)
    version = (
        subprocess.run(["gimp-console", "--version"], capture_output=True, text=True)
        if shutil.which("gimp-console")
        else None
    )
    if version is not None and f"version {RELEASES[release]}" in version.stdout:
        return Gimp(release, None)
    return None


def skip_reason(release: str) -> str:
    if os.geteuid() != 0:
        return f"no GIMP {RELEASES[release]} gimp-console on PATH, and building its chroot needs root"
    return (
        f"no GIMP {RELEASES[release]}: no gimp-console of that version on PATH and no chroot at "
        f"{CHROOTS / ('gimp-' + release)} (run tests/gimp_real/build_chroot.sh {release})"
    )


def install_plugin(workdir: Path, python: str, models: Path) -> Path:
    profile = workdir / "profile"
    plugin_dir = profile / "plug-ins" / "colorize"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "gimp_plugin" / "gimp3" / "colorize" / "colorize.py", plugin_dir / "colorize.py")
    os.chmod(plugin_dir / "colorize.py", 0o755)
    helpers = [
        ROOT / "gimp_plugin" / "gimp3" / "colorize" / name for name in ("colorize_preview.py", "colorize_suggest.py")
    ]
    for helper in (*helpers, ROOT / "gimp_plugin" / "worker" / "colorize_locate.py"):
        shutil.copy(helper, plugin_dir / helper.name)
    config = {"project": str(ROOT), "python": python, "models": str(models)}
    (plugin_dir / "colorize-config.json").write_text(json.dumps(config))
    return profile


def run_scenarios(gimp: Gimp, workdir: Path, extra_env: dict[str, str]) -> dict:
    profile = install_plugin(workdir, gimp.python, workdir / "models")
    results = workdir / f"results-{len(list(workdir.glob('results-*')))}.json"
    env = {"GIMP3_DIRECTORY": str(profile), "HOME": str(workdir), "COLORIZE_RESULTS": str(results), **extra_env}
    script = "gimp-console -idf --batch-interpreter=python-fu-eval -b - --quit"
    command, process_env = gimp.command(script, env, [ROOT, workdir])
    with open(SCENARIOS, "rb") as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, timeout=900, env=process_env)
    if not results.is_file():
        output = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
        raise AssertionError(f"GIMP {RELEASES[gimp.release]} exited {done.returncode} without results:\n{output}")
    return json.loads(results.read_text())


@pytest.fixture(scope="module", params=list(RELEASES))
def gimp(request):
    found = find_gimp(request.param)
    if found is None:
        pytest.skip(skip_reason(request.param))
    return found


@pytest.fixture(scope="module")
def gimp_results(gimp, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"gimp-{gimp.release}")
    models = workdir / "models"
    models.mkdir()
    save_model(models / "colorize.onnx")
    save_model(models / "reference.onnx", features=True)  # contract 2: can take a reference photo
    (models / "broken.onnx").write_bytes(b"this is not an ONNX model")
    if SHIPPED_MODEL.is_file():  # the preview is timed with the real network
        shutil.copy(SHIPPED_MODEL, models / "shipped.onnx")
    results = run_scenarios(gimp, workdir, {"COLORIZE_SCENARIOS": "all"})
    results.update(run_scenarios(gimp, workdir, {"COLORIZE_SCENARIOS": "worker", "COLORIZE_FORCE_WORKER": "1"}))
    return {**results, "gimp": gimp.release}


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


def test_a_hint_layer_chosen_as_a_layer_moves_the_color_toward_it(gimp_results):
    result = scenario(gimp_results, "hints")
    assert result["ok"], result["message"]
    names = [layer["name"] for layer in result["layers"]]
    photo = layer_pixels(result, names.index("photo"))
    lab = color.rgb_to_lab(photo[..., :3] / 255.0)
    assert lab[12:18, 12:28, 2].mean() < -10, "blue where the stroke is (the test model paints b* = +30)"
    assert lab[30:, 40:, 2].mean() > 10
    assert result["layers"][names.index("Color hints")]["visible"] is False


def test_an_opaque_hint_layer_is_explained_and_changes_nothing(gimp_results):
    result = scenario(gimp_results, "opaque_hint_layer")
    assert not result["ok"] and "has no alpha channel" in result["message"]
    assert not result["rgb"] or len(result["layers"]) == 2
    assert np.array_equal(layer_pixels(result, 1), before_pixels(result))


def test_suggested_hint_points_come_as_a_new_layer_and_change_nothing_else(gimp_results):
    assert "<Image>/Filters/Colors" in gimp_results["registration"]["suggest_menu_paths"]
    result = scenario(gimp_results, "suggest_hints")
    assert result["ok"], result["message"]
    assert [layer["name"] for layer in result["layers"]] == ["Colorize hints", "scan"]
    dots = layer_pixels(result, 0)
    assert 0 < (dots[..., 3] > 0).mean() < 0.25, "separate small dots on a transparent layer"
    assert result["rgb"], "hints are colors: a gray image becomes RGB, in the same undo step"
    assert np.abs(layer_pixels(result, 1).astype(int) - before_pixels(result)).max() <= 1, "the photo is unchanged"


def test_a_reference_layer_of_another_image_colorizes_and_stays_as_it_was(gimp_results):
    assert "reference-layer" in gimp_results["registration"]["arguments"]
    result = scenario(gimp_results, "reference")
    assert result["ok"], result["message"]
    assert result["reference_unchanged"] and [layer["name"] for layer in result["layers"]] == [
        "scan (colorized)",
        "scan",
    ]
    assert mean_chroma(layer_pixels(result, 0)) > 10


def test_render_size_is_passed_as_a_choice(gimp_results):
    result = scenario(gimp_results, "render_size_fast")
    assert result["ok"], result["message"]
    assert mean_chroma(layer_pixels(result)) > 10


def test_the_preview_work_on_a_12_mp_photo_changes_nothing(gimp_results):
    result = scenario(gimp_results, "preview_timing")
    assert not result["dirty"], "the preview never touches the image"
    for width, height, length, render in result["shapes"]:
        assert (width, height) == (render, render * 3 // 4) and length == width * height * 4, "read at render scale"
    print(f"GIMP {RELEASES[gimp_results['gimp']]}: preview of a 12 MP photo, seconds per redraw: {result['seconds']}")


def test_the_worker_path_works_in_gimp(gimp_results):
    result = scenario(gimp_results, "worker")
    assert result["ok"], result["message"]
    assert mean_chroma(layer_pixels(result)) > 10


# --- the real dialog, on a virtual display ---------------------------------------------------------------------------
SCREENSHOT_DIR = os.environ.get("COLORIZE_SCREENSHOT_DIR")  # keep the screenshots here (docs/ uses the 3.2 one)


def test_the_dialog_preview_shows_color(gimp, tmp_path):
    from PIL import Image

    models = tmp_path / "models"
    models.mkdir()
    if SHIPPED_MODEL.is_file():  # the real colors, for a screenshot worth showing
        shutil.copy(SHIPPED_MODEL, models / "colorize.onnx")
    else:
        save_model(models / "colorize.onnx")
    profile = install_plugin(tmp_path, gimp.python, models)
    log, shot = tmp_path / "preview.log", tmp_path / "dialog.png"
    env = {
        "GIMP3_DIRECTORY": str(profile),
        "HOME": str(tmp_path),
        "DISPLAY": ":77",
        "NO_AT_BRIDGE": "1",
        "COLORIZE_PREVIEW_LOG": str(log),
        "COLORIZE_PHOTO": str(ROOT / "examples" / "camera_bw.png"),
        "SHOT": str(shot),
    }
    script = (
        "Xvfb :77 -screen 0 1280x900x24 -nolisten tcp & XVFB=$!; sleep 2; "
        "gimp -n -f --no-splash --batch-interpreter=python-fu-eval -b - < " + str(INTERACTIVE) + " & GIMP=$!; "
        'for i in $(seq 1 240); do grep -q drawn "$COLORIZE_PREVIEW_LOG" 2>/dev/null && break; sleep 0.5; done; '
        "sleep 2; "
        "WINDOW=$(xwininfo -root -tree | awk '/\"Colorize\"/ {print $1; exit}'); "
        'import -window "${WINDOW:-root}" "$SHOT"; kill -9 $GIMP $XVFB 2>/dev/null; true'
    )
    command, process_env = gimp.command(script, env, [ROOT, tmp_path])
    started = time.time()
    done = subprocess.run(command, capture_output=True, timeout=300, env=process_env)
    assert log.is_file(), f"the preview was never drawn: {(done.stdout + done.stderr).decode(errors='replace')[-3000:]}"
    drawn = [json.loads(line) for line in log.read_text().splitlines()]
    assert shot.is_file(), (done.stdout + done.stderr).decode(errors="replace")[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), np.float32) / 255
    lab = color.rgb_to_lab(pixels)
    colorful = np.count_nonzero(np.hypot(lab[..., 1], lab[..., 2]) > 12)
    assert colorful > 10_000, f"the preview of a gray photo shows color ({colorful} colorful pixels)"
    print(
        f"GIMP {RELEASES[gimp.release]} dialog: preview drawn {len(drawn)} time(s), seconds {drawn}, "
        f"{time.time() - started:.0f} s in all"
    )
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(SCREENSHOT_DIR) / f"dialog-gimp-{RELEASES[gimp.release]}.png")
