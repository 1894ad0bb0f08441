"""The GIMP 2.10 Python-Fu plug-in against the fake gimpfu (tests/stubs/gimp2), through the real worker."""

import ast
import shutil
import subprocess

import numpy as np
import pytest

from gimp_plugin.core import color
from tests.gimp_fixtures import ROOT, load_plugin, plugin_folder, unload_stubs

PLUGIN = ROOT / "gimp_plugin" / "gimp2" / "colorize_gimp2.py"


@pytest.fixture
def gimp2(tmp_path, model_path, monkeypatch):
    monkeypatch.setenv("COLORIZE_FORCE_WORKER", "1")  # GIMP 2.10's Python cannot import onnxruntime
    plugin = load_plugin(PLUGIN, "gimp2", "colorize_gimp2_under_test")
    monkeypatch.setattr(plugin, "PLUGIN_DIR", str(plugin_folder(tmp_path, model_path)))
    import gimp
    import gimpfu

    gimp.LOG.clear()
    gimpfu.pdb.messages.clear()
    yield plugin, gimp, gimpfu
    unload_stubs("gimp2", ("gimp", "gimpfu"))


def gray(height=48, width=64):
    y, x = np.mgrid[0:height, 0:width]
    return (80 + 100 * ((x + y) % 16) / 16).astype(np.uint8)


def chroma(pixels):
    lab = color.rgb_to_lab(pixels[..., :3].astype(np.float32) / 255)
    return np.hypot(lab[..., 1], lab[..., 2])


def call(plugin, image, layer, output=0, use_selection=True, hint_layer="", render_size=0, saturation=1.0):
    plugin.colorize(image, layer, "colorize.onnx", render_size, saturation, output, use_selection, hint_layer)


def test_registration_passes_gimpfus_checks(gimp2):
    plugin, gimp, gimpfu = gimp2
    entry = gimpfu.REGISTERED["python-fu-colorize"]
    assert entry["menu"] == "<Image>/Filters/Colors" and entry["label"] == "_Colorize..."
    assert entry["imagetypes"] == "RGB*, GRAY*"
    assert [p[1] for p in entry["params"]] == [
        "image",
        "drawable",
        "model",
        "render_size",
        "saturation",
        "output",
        "use_selection",
        "hint_layer",
    ]


def test_the_model_is_stored_by_name(gimp2):
    plugin, gimp, gimpfu = gimp2
    entry = gimpfu.REGISTERED["python-fu-colorize"]
    model = entry["params"][2]
    assert model[0] == gimpfu.PF_RADIO and model[3] == "colorize.onnx"
    assert ("colorize.onnx", "colorize.onnx") in model[4]


def test_files_gimp_2_imports_are_python2_compatible_syntax():
    tree = ast.parse(PLUGIN.read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)], "no f-strings in a Python 2.7 file"
    for name in ("bridge.py", "protocol.py", "colorize_locate.py"):
        module = ast.parse((ROOT / "gimp_plugin" / "worker" / name).read_text())
        assert not [n for n in ast.walk(module) if isinstance(n, (ast.JoinedStr, ast.AnnAssign))], name
        assert not [n for n in ast.walk(module) if isinstance(n, ast.FunctionDef) and n.returns is not None], name


def test_gray_layer_becomes_a_colored_layer_above(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image(base_type=gimpfu.GRAY)
    layer = image.add("scan", gray())
    call(plugin, image, layer)
    assert gimpfu.pdb.messages == []
    assert [item.name for item in image.layers] == ["scan (colorized)", "scan"]
    result = image.layers[0].pixels
    assert result.shape == (48, 64, 3) and chroma(result).mean() > 10
    assert image.undo_groups == 1 and image.undo_depth == 0
    assert ("displays_flush",) in gimp.LOG


def test_rgba_replace_keeps_alpha(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image()
    alpha = np.linspace(0, 255, 48 * 64).reshape(48, 64).astype(np.uint8)
    layer = image.add("cutout", np.dstack([gray()] * 3 + [alpha]))
    call(plugin, image, layer, output=1)
    np.testing.assert_array_equal(layer.pixels[..., 3], alpha)
    assert chroma(layer.pixels).mean() > 10


def test_selection_limits_the_change(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image()
    layer = image.add("photo", np.dstack([gray()] * 3))
    before = layer.pixels.copy()
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    image.select(mask)
    call(plugin, image, layer, output=1)
    np.testing.assert_array_equal(layer.pixels[:, 33:], before[:, 33:])
    assert chroma(layer.pixels[:, :30]).mean() > 10


def test_offset_hint_layer_is_placed_and_hidden(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image()
    hints = np.zeros((10, 10, 4), np.uint8)
    hints[...] = [0, 50, 255, 255]
    hint_layer = image.add("Color hints", hints, offsets=(20, 20))
    layer = image.add("photo", np.full((48, 64, 3), 128, np.uint8))
    call(plugin, image, layer, output=1, hint_layer="Color hints")
    lab = color.rgb_to_lab(layer.pixels.astype(np.float32) / 255)
    assert lab[22:28, 22:28, 2].mean() < -10 < 10 < lab[:10, 40:, 2].mean()
    assert hint_layer.visible is False


def test_failure_shows_a_message_and_changes_nothing(gimp2, tmp_path):
    plugin, gimp, gimpfu = gimp2
    (tmp_path / "models" / "colorize.onnx").write_bytes(b"broken")
    image = gimp.Image(base_type=gimpfu.GRAY)
    layer = image.add("scan", gray())
    call(plugin, image, layer)
    assert len(gimpfu.pdb.messages) == 1 and "not changed" in gimpfu.pdb.messages[0]
    assert image.history == [] and image.undo_groups == 0 and image.base_type == gimpfu.GRAY


def test_high_bit_depth_is_refused_with_advice(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image(precision=250)
    layer = image.add("photo", gray())
    call(plugin, image, layer)
    assert "8-bit" in gimpfu.pdb.messages[0] and image.history == []


def test_a_model_gone_from_the_folder_is_named_not_swapped(gimp2):
    plugin, gimp, gimpfu = gimp2
    image = gimp.Image(base_type=gimpfu.GRAY)
    layer = image.add("scan", gray())
    plugin.colorize(image, layer, "removed.onnx", 0, 1.0, 0, True, "")
    assert "'removed.onnx' is no longer in" in gimpfu.pdb.messages[-1] and len(image.layers) == 1


PYTHON2_FILES = (
    "gimp_plugin/__init__.py",
    "gimp_plugin/worker/__init__.py",
    "gimp_plugin/worker/bridge.py",
    "gimp_plugin/worker/protocol.py",
    "gimp_plugin/worker/colorize_locate.py",
    "gimp_plugin/gimp2/colorize_gimp2.py",
)


def python2() -> str | None:
    for name in ("python2.7", "python2"):
        found = shutil.which(name)
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    return None


@pytest.mark.skipif(python2() is None, reason="no Python 2.7 here to compile GIMP 2.10's files with")
def test_the_files_gimp_2_runs_compile_under_python_2():
    for name in PYTHON2_FILES:
        source = (ROOT / name).read_text()
        result = subprocess.run(
            [python2(), "-c", "import sys; compile(sys.stdin.read(), sys.argv[1], 'exec')", name],
            input=source,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
