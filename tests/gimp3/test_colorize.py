"""The GIMP 3 plug-in against the fake gi.repository (tests/stubs/gimp3): registration and runs on layers."""

import os
import runpy
import stat
import sys

import numpy as np
import pytest

from gimp_plugin.core import color
from tests.gimp_fixtures import ROOT, load_plugin, plugin_folder, unload_stubs


@pytest.fixture
def gimp3(tmp_path, model_path, monkeypatch):
    plugin = load_plugin(
        ROOT / "gimp_plugin" / "gimp3" / "colorize" / "colorize.py", "gimp3", "colorize_gimp3_under_test"
    )
    monkeypatch.setattr(plugin, "PLUGIN_DIR", str(plugin_folder(tmp_path, model_path)))
    from gi.repository import Gimp

    Gimp.LOG.clear()
    yield plugin, Gimp
    unload_stubs("gimp3", ("gi", "colorize_preview", "colorize_suggest"))  # these hold the stubs they imported


def procedure_of(plugin):
    return plugin.Colorize().do_create_procedure(plugin.PROCEDURE)


def run(plugin, Gimp, image, drawables, **settings):
    procedure = procedure_of(plugin)
    config = procedure.create_config()
    settings.setdefault("use-selection", True)
    for name, value in settings.items():
        config.set_property(name.replace("_", "-"), value)
    return procedure.run_func(procedure, Gimp.RunMode.NONINTERACTIVE, image, drawables, config, None)


def gray_pixels(height=48, width=64):
    y, x = np.mgrid[0:height, 0:width]
    return (0.3 + 0.4 * ((x + y) % 16) / 16).astype(np.float32)


def chroma(pixels):
    lab = color.rgb_to_lab(pixels[..., :3])
    return np.hypot(lab[..., 1], lab[..., 2])


def test_registration(gimp3):
    plugin, Gimp = gimp3
    assert plugin.Colorize().do_query_procedures() == ["python-fu-colorize", "python-fu-colorize-suggest-hints"]
    procedure = procedure_of(plugin)
    assert procedure.menu_paths == ["<Image>/Filters/Colors"]
    assert procedure.menu_label == "_Colorize..."
    assert procedure.image_types == "RGB*, GRAY*"
    assert procedure.sensitivity & Gimp.ProcedureSensitivityMask.DRAWABLES
    assert set(procedure.arguments) == {
        "model",
        "render-size",
        "saturation",
        "output",
        "use-selection",
        "hint-layer",
        "reference-layer",
        "suggestions",
    }
    suggesting = plugin.Colorize().do_create_procedure(plugin.SUGGEST_PROCEDURE)
    assert suggesting.menu_paths == ["<Image>/Filters/Colors"] and "Suggest" in suggesting.menu_label
    assert suggesting.arguments["suggestions"]["default"] == 10
    assert procedure.arguments["model"]["choice"].nicks == ["colorize.onnx"]
    assert procedure.arguments["output"]["default"] == "new-layer"


def test_rgb_layer_gets_a_colorized_layer_above_in_one_undo_step(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, axis=2))
    before = source.pixels.copy()
    status, message = run(plugin, Gimp, image, [source])
    assert status == Gimp.PDBStatusType.SUCCESS, message
    assert [layer.name for layer in image.layers] == ["photo (colorized)", "photo"]
    np.testing.assert_array_equal(source.pixels, before)
    result = image.layers[0].pixels
    assert chroma(result).mean() > 10
    lightness_in = color.rgb_to_lightness(before)
    assert np.abs(color.rgb_to_lightness(result[..., :3]) - lightness_in).max() < 0.6
    assert image.undo_groups == 1 and image.undo_depth == 0
    assert Gimp.LOG[0][0] == "progress_init" and ("progress_end",) in Gimp.LOG and Gimp.LOG[-1] == ("displays_flush",)


def test_gray_image_is_converted_to_rgb_and_colored(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image(base_type=Gimp.ImageBaseType.GRAY)
    source = image.add_layer("scan", gray_pixels())
    status, _ = run(plugin, Gimp, image, [source], output="replace")
    assert status == Gimp.PDBStatusType.SUCCESS
    assert image.base_type == Gimp.ImageBaseType.RGB and source.pixels.shape[2] == 3
    assert chroma(source.pixels).mean() > 10


def test_alpha_is_kept(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    alpha = np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64, 1)
    pixels = np.concatenate([np.repeat(gray_pixels()[..., None], 3, 2), alpha], axis=2)
    source = image.add_layer("cutout", pixels)
    run(plugin, Gimp, image, [source])
    np.testing.assert_allclose(image.layers[0].pixels[..., 3], alpha[..., 0], atol=1 / 255)


def test_two_selected_layers_are_both_processed(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    first = image.add_layer("a", np.repeat(gray_pixels()[..., None], 3, 2))
    second = image.add_layer("b", np.repeat(gray_pixels()[::-1].copy()[..., None], 3, 2))
    status, _ = run(plugin, Gimp, image, [first, second], output="replace")
    assert status == Gimp.PDBStatusType.SUCCESS
    assert chroma(first.pixels).mean() > 10 and chroma(second.pixels).mean() > 10
    assert image.undo_groups == 1


def test_selection_limits_the_change(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, 2))
    before = source.pixels.copy()
    mask = np.zeros((48, 64), np.float32)
    mask[:, :32] = 1
    image.select(mask)
    run(plugin, Gimp, image, [source], output="replace")
    np.testing.assert_allclose(source.pixels[:, 33:], before[:, 33:], atol=1 / 255)
    assert chroma(source.pixels[:, :30]).mean() > 10


def test_high_bit_depth_is_read_and_written_in_float(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image(precision=Gimp.Precision.FLOAT_NON_LINEAR)
    pixels = np.repeat(gray_pixels()[..., None], 3, 2) + np.float32(0.3 / 65535)
    source = image.add_layer("hdr", pixels)
    run(plugin, Gimp, image, [source], output="replace")
    steps = np.unique(np.round(source.pixels * 255 * 16) % 16)
    assert len(steps) > 4, "values between 8-bit levels survive: nothing was squashed to 8 bits"


def test_hint_layer_moves_color_and_is_hidden_after(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    hints = np.zeros((48, 64, 4), np.float32)
    hints[10:20, 10:20] = [0.0, 0.2, 1.0, 1.0]  # blue stroke
    hint_layer = image.add_layer("Color hints", hints)
    source = image.add_layer("photo", np.full((48, 64, 3), 0.5, np.float32))
    status, message = run(plugin, Gimp, image, [source], output="replace", hint_layer=hint_layer)
    assert status == Gimp.PDBStatusType.SUCCESS, message
    lab = color.rgb_to_lab(source.pixels)
    assert lab[12:18, 12:18, 2].mean() < -10 < 10 < lab[30:, 40:, 2].mean()
    assert hint_layer.visible is False and image.get_layer_by_name("Color hints") is hint_layer


@pytest.mark.parametrize("which", ["opaque", "itself"])
def test_an_unsuitable_hint_layer_is_explained_and_changes_nothing(gimp3, which):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    opaque = image.add_layer("Opaque", np.full((48, 64, 3), 0.2, np.float32))
    source = image.add_layer("photo", np.full((48, 64, 3), 0.5, np.float32))
    status, message = run(plugin, Gimp, image, [source], hint_layer=opaque if which == "opaque" else source)
    expected = "has no alpha channel" if which == "opaque" else "is the layer being colorized"
    assert status == Gimp.PDBStatusType.EXECUTION_ERROR and expected in message
    assert image.history == []


def test_render_size_is_a_choice_with_its_meaning(gimp3):
    plugin, Gimp = gimp3
    procedure = procedure_of(plugin)
    assert procedure.arguments["render-size"]["choice"].nicks == ["auto", "fast", "detailed"]
    assert procedure.arguments["render-size"]["default"] == "auto"
    image = Gimp.Image()
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, 2))
    status, message = run(plugin, Gimp, image, [source], render_size="fast")
    assert status == Gimp.PDBStatusType.SUCCESS, message


@pytest.mark.parametrize("path", ["in-process", "worker"])
def test_the_dialog_preview_shows_the_colors_of_the_result_and_changes_nothing(gimp3, monkeypatch, path):
    plugin, Gimp = gimp3
    if path == "worker":  # this Python cannot ask the model for its render size: the core applies it
        monkeypatch.setenv("COLORIZE_FORCE_WORKER", "1")
    from gi.repository import GimpUi, GLib

    image = Gimp.Image(base_type=Gimp.ImageBaseType.GRAY, width=640, height=480)
    pixels = np.kron(gray_pixels(), np.ones((10, 10), np.float32))  # 480 x 640
    source = image.add_layer("scan", pixels)
    seen = {}

    def look(dialog):
        GLib.run_timeouts()  # the first drawing, as the dialog opens
        preview_box = dialog.get_content_area().children[0]
        area = preview_box.children[0].children[0]
        seen["first"] = area.drawn
        config.set_property("saturation", 0.0)  # a change redraws it
        GLib.run_timeouts()
        seen["gray"] = area.drawn
        seen["label"] = preview_box.children[1].text
        GimpUi.ProcedureDialog.RESPONSE = False

    procedure = procedure_of(plugin)
    config = procedure.create_config()
    GimpUi.ProcedureDialog.ON_RUN = look
    try:
        status, _ = procedure.run_func(procedure, Gimp.RunMode.INTERACTIVE, image, [source], config, None)
    finally:
        GimpUi.ProcedureDialog.ON_RUN, GimpUi.ProcedureDialog.RESPONSE = None, True
    assert status == Gimp.PDBStatusType.CANCEL and image.history == [] and image.undo_groups == 0
    width, height, image_type, data, stride = seen["first"]
    if path == "in-process":
        assert (width, height) == (64, 48), "the test model renders at 64: the preview shows that render"
        assert "rendered at 64 x 48" in seen["label"]
    else:  # read at the fallback size, colored at the model's 64
        assert (width, height) == (384, 288) and "at the model's render size" in seen["label"]
    rgba = np.frombuffer(data, np.uint8).reshape(height, width, 4) / 255.0
    assert chroma(rgba).mean() > 10, "the preview is in color"
    final = np.frombuffer(seen["gray"][3], np.uint8).reshape(height, width, 4) / 255.0
    assert chroma(final).mean() < 1, "saturation 0 redraws it gray"


def test_broken_model_leaves_the_image_untouched(gimp3, tmp_path):
    plugin, Gimp = gimp3
    (tmp_path / "models" / "colorize.onnx").write_bytes(b"not a model")
    image = Gimp.Image(base_type=Gimp.ImageBaseType.GRAY)
    source = image.add_layer("scan", gray_pixels())
    before = source.pixels.copy()
    status, message = run(plugin, Gimp, image, [source])
    assert status == Gimp.PDBStatusType.EXECUTION_ERROR
    assert "not a valid ONNX model" in message and "not changed" in message
    assert image.history == [] and image.undo_groups == 0 and image.base_type == Gimp.ImageBaseType.GRAY
    np.testing.assert_array_equal(source.pixels, before)


def test_through_the_worker(gimp3, monkeypatch):
    plugin, Gimp = gimp3
    monkeypatch.setenv("COLORIZE_FORCE_WORKER", "1")
    image = Gimp.Image()
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, 2))
    status, message = run(plugin, Gimp, image, [source])
    assert status == Gimp.PDBStatusType.SUCCESS, message
    assert chroma(image.layers[0].pixels).mean() > 10
    assert any(entry[0] == "progress_update" and 0 < entry[1] < 1 for entry in Gimp.LOG), "worker progress arrives"


def test_a_killed_worker_leaves_the_image_untouched(gimp3, tmp_path, monkeypatch, model_path):
    plugin, Gimp = gimp3
    killer = tmp_path / "python"
    killer.write_text("#!/bin/sh\nkill -9 $$\n")
    killer.chmod(killer.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(plugin, "PLUGIN_DIR", str(plugin_folder(tmp_path, model_path, python=str(killer))))
    monkeypatch.setenv("COLORIZE_FORCE_WORKER", "1")
    image = Gimp.Image()
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, 2))
    status, message = run(plugin, Gimp, image, [source])
    assert status == Gimp.PDBStatusType.EXECUTION_ERROR
    assert "stopped unexpectedly" in message and image.history == []


def test_nothing_but_layers_is_refused(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image()
    group = image.add_layer("group", np.zeros((4, 4, 4), np.float32))
    group.group = True
    status, message = run(plugin, Gimp, image, [group])
    assert status == Gimp.PDBStatusType.CALLING_ERROR and "layers" in message


def test_interactive_cancel_changes_nothing(gimp3):
    plugin, Gimp = gimp3
    from gi.repository import GimpUi

    GimpUi.ProcedureDialog.RESPONSE = False
    try:
        image = Gimp.Image()
        source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, 2))
        procedure = procedure_of(plugin)
        status, _ = procedure.run_func(
            procedure, Gimp.RunMode.INTERACTIVE, image, [source], procedure.create_config(), None
        )
        assert status == Gimp.PDBStatusType.CANCEL and image.history == []
    finally:
        GimpUi.ProcedureDialog.RESPONSE = True


def test_plugin_file_is_executable_and_hands_its_plug_in_to_gimp_only_when_run(gimp3):
    """GIMP runs the file as a program: then, and only then, it hands GIMP its PlugIn class (imported by the preview
    or the tests, it must not start GIMP's main loop)."""
    plugin, Gimp = gimp3
    path = ROOT / "gimp_plugin" / "gimp3" / "colorize" / "colorize.py"
    assert os.access(path, os.X_OK), "GIMP 3 only runs executable plug-ins"
    assert not [entry for entry in Gimp.LOG if entry[0] == "main"], "imported, it starts nothing"
    ran = runpy.run_path(str(path), run_name="__main__")
    assert Gimp.LOG[-1] == ("main", ran["Colorize"].__gtype__)


# --- suggested hint points ----------------------------------------------------------------------------------------
def test_suggest_hints_adds_a_transparent_layer_of_dots_in_one_undo_step(gimp3):
    plugin, Gimp = gimp3
    image = Gimp.Image(base_type=Gimp.ImageBaseType.GRAY, width=160, height=120)
    source = image.add_layer("scan", np.kron(gray_pixels(), np.ones((3, 3), np.float32))[:120, :160])
    before = source.pixels.copy()
    procedure = plugin.Colorize().do_create_procedure(plugin.SUGGEST_PROCEDURE)
    config = procedure.create_config()
    config.set_property("suggestions", 6)
    status, message = procedure.run_func(procedure, Gimp.RunMode.NONINTERACTIVE, image, [source], config, None)
    assert status == Gimp.PDBStatusType.SUCCESS, message
    assert [layer.name for layer in image.layers] == ["Colorize hints", "scan"]
    dots = image.layers[0].pixels
    assert dots.shape == (120, 160, 4) and 0 < (dots[..., 3] > 0).mean() < 0.1, "a few small dots, transparent around"
    assert np.array_equal(source.pixels[..., 0], before[..., 0]), "the photo itself is unchanged"
    assert image.undo_groups == 1 and image.undo_depth == 0


def test_the_dialog_button_adds_the_suggestions_and_makes_them_the_hint_layer(gimp3):
    plugin, Gimp = gimp3
    from gi.repository import GimpUi, GLib

    image = Gimp.Image(width=64, height=48)
    source = image.add_layer("photo", np.repeat(gray_pixels()[..., None], 3, axis=2))
    seen = {}

    def look(dialog):
        GLib.run_timeouts()
        row = dialog.get_content_area().children[1]
        button, unsure = row.children[0], row.children[1]
        unsure.toggle()  # the preview now shows the uncertainty
        GLib.run_timeouts()
        preview_box = dialog.get_content_area().children[0]
        seen["label"] = preview_box.children[1].text
        button.click()
        seen["hint-layer"] = config.get_property("hint-layer")
        GimpUi.ProcedureDialog.RESPONSE = False

    procedure = procedure_of(plugin)
    config = procedure.create_config()
    GimpUi.ProcedureDialog.ON_RUN = look
    try:
        procedure.run_func(procedure, Gimp.RunMode.INTERACTIVE, image, [source], config, None)
    finally:
        GimpUi.ProcedureDialog.ON_RUN, GimpUi.ProcedureDialog.RESPONSE = None, True
    assert seen["label"].startswith("Where the model is unsure")
    assert seen["hint-layer"] is image.layers[0] and image.layers[0].name == "Colorize hints"


OLD_LOCATE = """
import json, os, sys
def load_bridge(plugin_dir):
    with open(os.path.join(plugin_dir, "colorize-config.json")) as handle:
        project = json.load(handle)["project"]
    sys.path.insert(0, project)
    from gimp_plugin import bridge  # where the bridge lived before the rooms
    return bridge, bridge.read_config(plugin_dir)
"""


def test_an_install_older_than_the_code_is_told_to_run_install_sh_and_changes_nothing(tmp_path, model_path):
    """A plug-in folder install.sh filled before the code moved into rooms: its copy of the locator imports the
    bridge from where it was. The run says to install again, and the image is untouched."""
    installed = plugin_folder(tmp_path, model_path)
    source = ROOT / "gimp_plugin" / "gimp3" / "colorize" / "colorize.py"
    (installed / "colorize.py").write_text(source.read_text())
    (installed / "colorize_locate.py").write_text(OLD_LOCATE)
    sys.modules.pop("colorize_locate", None)  # the repository's, imported by the tests before
    plugin = load_plugin(installed / "colorize.py", "gimp3", "colorize_gimp3_old_install")
    try:
        from gi.repository import Gimp

        plugin.PLUGIN_DIR = str(installed)
        image = Gimp.Image()
        layer = image.add_layer("scan", np.repeat(gray_pixels()[..., None], 3, axis=2))
        before = layer.pixels.copy()
        status, message = run(plugin, Gimp, image, [layer])
        assert status == Gimp.PDBStatusType.EXECUTION_ERROR
        assert "Run ./install.sh again" in message
        assert np.array_equal(layer.pixels, before) and [each.name for each in image.layers] == ["scan"]
    finally:
        sys.modules.pop("colorize_locate", None)
        unload_stubs("gimp3", ("gi", "colorize_preview", "colorize_suggest"))
