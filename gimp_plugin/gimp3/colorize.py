#!/usr/bin/env python3
"""Colorize for GIMP 3: Filters > Colors > Colorize... on the selected layer(s).

A thin adapter: read each layer's pixels, hand them to Colorize's core (in-process, or through the worker of the
project's virtual environment), and write the result back in one undo step. Nothing in the image changes until
every layer has been colorized, so a failure leaves the image exactly as it was.
"""

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

PROCEDURE = "python-fu-colorize"
MENU_PATH = "<Image>/Filters/Colors"
PLUGIN_DIR = os.path.dirname(os.path.realpath(__file__))
OUTPUT_NEW_LAYER, OUTPUT_REPLACE = "new-layer", "replace"


def _load_bridge(plugin_dir=None):
    """Import the shared bridge from the Colorize project that install.sh recorded."""
    import json

    plugin_dir = plugin_dir or PLUGIN_DIR
    config_path = os.path.join(plugin_dir, "colorize-config.json")
    project = os.path.dirname(os.path.dirname(plugin_dir))  # running from the repository itself
    if os.path.isfile(config_path):
        with open(config_path) as handle:
            project = json.load(handle).get("project", project)
    if project not in sys.path:
        sys.path.insert(0, project)
    from gimp_plugin import bridge

    return bridge, bridge.read_config(plugin_dir)


def _error(procedure, message, status=None):
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(status or Gimp.PDBStatusType.EXECUTION_ERROR, error)


def _is_high_precision(image):
    precision = image.get_precision()
    return precision not in (Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_PERCEPTUAL)


def _read(drawable, babl_format, x, y, width, height, abyss=None):
    rect = Gegl.Rectangle.new(x, y, width, height)
    abyss = Gegl.AbyssPolicy.CLAMP if abyss is None else abyss
    return bytes(drawable.get_buffer().get(rect, 1.0, babl_format, abyss))


def _selection_bytes(image, drawable, width, height):
    """The selection's coverage (0..1 floats) over the drawable, or None when nothing is selected."""
    if Gimp.Selection.is_empty(image):
        return None
    _, offset_x, offset_y = drawable.get_offsets()
    return _read(image.get_selection(), "Y float", offset_x, offset_y, width, height)


def _hint_bytes(image, drawable, hint_layer_name, width, height):
    """The hint layer's RGBA pixels aligned with the drawable, or None."""
    if not hint_layer_name:
        return None, None
    layer = image.get_layer_by_name(hint_layer_name)
    if layer is None:
        raise ValueError(f"no layer named '{hint_layer_name}' for color hints")
    if not layer.has_alpha():
        raise ValueError(f"the hint layer '{hint_layer_name}' has no alpha channel: paint hints on a transparent layer")
    _, offset_x, offset_y = drawable.get_offsets()
    _, hint_x, hint_y = layer.get_offsets()
    # Outside the hint layer there are no hints: read transparent there, not the clamped edge.
    data = _read(layer, "R'G'B'A float", offset_x - hint_x, offset_y - hint_y, width, height, Gegl.AbyssPolicy.NONE)
    return layer, data


class Work:
    """One layer's colorization, computed before anything in the image changes."""

    def __init__(self, drawable, result, babl_format):
        self.drawable, self.result, self.babl_format = drawable, result, babl_format


def colorize_layers(image, drawables, config, bridge, settings, progress):
    """Colorize every drawable; returns a list of Work. Raises on failure, before any change to the image."""
    model_name = config.get_property("model")
    model_path = os.path.join(settings["models"], model_name) if model_name else None
    high = _is_high_precision(image)
    sample_format = "f32" if high else "u8"
    works = []
    for index, drawable in enumerate(drawables):
        width, height = drawable.get_width(), drawable.get_height()
        babl_format = "R'G'B'A float" if high else "R'G'B'A u8"
        pixels = _read(drawable, babl_format, 0, 0, width, height)
        _, hint_data = _hint_bytes(image, drawable, config.get_property("hint-layer"), width, height)
        selection = _selection_bytes(image, drawable, width, height) if config.get_property("use-selection") else None
        job = bridge.Job(
            pixels, width, height, 4, sample_format, model=model_path,
            render_size=config.get_property("render-size") or None, saturation=config.get_property("saturation"),
            hints=None if hint_data is None else {"data": hint_data, "width": width, "height": height, "format": "f32"},
            selection=selection,
        )  # fmt: skip
        share = 1.0 / len(drawables)
        result, _ = bridge.colorize_bytes(
            job, settings, lambda fraction, i=index, s=share: progress((i + fraction) * s)
        )
        works.append(Work(drawable, result, babl_format))
    return works


def _write(drawable, work, replace):
    width, height = drawable.get_width(), drawable.get_height()
    rect = Gegl.Rectangle.new(0, 0, width, height)
    buffer = drawable.get_shadow_buffer() if replace else drawable.get_buffer()
    buffer.set(rect, work.babl_format, work.result)
    buffer.flush()
    if replace:
        drawable.merge_shadow(True)
    drawable.update(0, 0, width, height)


def apply_results(image, works, output, hint_layer_name):
    """Write every result into the image as one undo step."""
    image.undo_group_start()
    try:
        if image.get_base_type() != Gimp.ImageBaseType.RGB:
            image.convert_rgb()
        for work in works:
            source = work.drawable
            if output == OUTPUT_REPLACE:
                _write(source, work, replace=True)
                continue
            layer = Gimp.Layer.new(
                image, source.get_name() + " (colorized)", source.get_width(), source.get_height(),
                Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL,
            )  # fmt: skip
            _, offset_x, offset_y = source.get_offsets()
            image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
            layer.set_offsets(offset_x, offset_y)
            _write(layer, work, replace=False)
        if hint_layer_name:
            hint_layer = image.get_layer_by_name(hint_layer_name)
            if hint_layer is not None:
                hint_layer.set_visible(False)  # kept for another run, hidden so the result shows
    finally:
        image.undo_group_end()


def run(procedure, run_mode, image, drawables, config, run_data):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        from gi.repository import GimpUi

        GimpUi.init("colorize")
        dialog = GimpUi.ProcedureDialog.new(procedure, config, "Colorize")
        dialog.fill(None)
        if not dialog.run():
            dialog.destroy()
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        dialog.destroy()
    layers = [d for d in drawables if isinstance(d, Gimp.Layer) and not d.is_group()]
    if not layers:
        return _error(procedure, "Colorize works on layers: select one or more (not a group, mask or channel).",
                      Gimp.PDBStatusType.CALLING_ERROR)  # fmt: skip
    try:
        bridge, settings = _load_bridge()
    except Exception as error:
        return _error(procedure, f"Colorize is not installed correctly ({error}). Run ./install.sh again.")
    Gimp.progress_init("Colorizing...")
    try:
        works = colorize_layers(image, layers, config, bridge, settings, Gimp.progress_update)
    except (bridge.BridgeError, ValueError, MemoryError) as error:
        Gimp.progress_end()
        return _error(procedure, f"Colorize failed, the image was not changed: {str(error) or 'out of memory'}")
    apply_results(image, works, config.get_property("output"), config.get_property("hint-layer"))
    Gimp.progress_end()
    Gimp.displays_flush()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _choice(options):
    choice = Gimp.Choice.new()
    for index, (nick, label) in enumerate(options):
        choice.add(nick, index, label, label)
    return choice


class Colorize(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label("_Colorize...")
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(
            "Colorize black-and-white photos",
            "Adds natural color to the selected layers with a neural network, keeping their luminance. "
            "Paint color hints on a transparent layer and name it to guide the colors.",
            name,
        )
        procedure.set_attribution("Colorize developers", "Colorize developers", "2026")
        try:
            bridge, settings = _load_bridge()
            models = bridge.list_models(settings["models"])
        except Exception:  # still register, so the menu entry appears and explains the problem when run
            models = ["colorize.onnx"]
        flags = GObject.ParamFlags.READWRITE
        procedure.add_choice_argument("model", "_Model", "ONNX model from the models folder",
                                      _choice([(m, m) for m in models]), models[0], flags)  # fmt: skip
        render_help = "Longer side the network sees (0: the model's default); larger is slower"
        procedure.add_int_argument("render-size", "_Render size", render_help, 0, 2048, 0, flags)
        procedure.add_double_argument("saturation", "_Saturation", "Scale of the added color", 0.0, 3.0, 1.0, flags)
        procedure.add_choice_argument(
            "output", "_Output", "Where the result goes",
            _choice([(OUTPUT_NEW_LAYER, "New layer above each layer"), (OUTPUT_REPLACE, "Replace the layer")]),
            OUTPUT_NEW_LAYER, flags,
        )  # fmt: skip
        procedure.add_boolean_argument("use-selection", "Use _selection", "Only color the selection (soft edges kept)",
                                       True, flags)  # fmt: skip
        procedure.add_string_argument("hint-layer", "_Hint layer", "Name of a transparent layer with color strokes "
                                      "(empty: no hints)", "", flags)  # fmt: skip
        return procedure


if __name__ == "__main__":
    Gimp.main(Colorize.__gtype__, sys.argv)
