#!/usr/bin/env python3
"""Colorize for GIMP 3: Filters > Colors > Colorize... on the selected layer(s).

A thin adapter: read each layer's pixels, hand them to Colorize's core (in-process, or through the worker of the
project's virtual environment), and write the result back in one undo step. Nothing in the image changes until
every layer has been colorized, so a failure leaves the image exactly as it was. The dialog shows a preview made
by the same core (colorize_preview.py, beside this file).
"""

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

PROCEDURE = "python-fu-colorize"
SUGGEST_PROCEDURE = "python-fu-colorize-suggest-hints"
MENU_PATH = "<Image>/Filters/Colors"
HERE = os.path.dirname(os.path.realpath(__file__))
PLUGIN_DIR = HERE
OUTPUT_NEW_LAYER, OUTPUT_REPLACE = "new-layer", "replace"
# Render size choices: nick -> (pixels, label); 0 means the model's own default.
RENDER_SIZES = {
    "auto": (0, "Automatic (the model's default)"),
    "fast": (256, "Fast (256 px)"),
    "detailed": (768, "Detailed (768 px)"),
}


def load_bridge():
    """(bridge, settings) of the Colorize project this plug-in belongs to (see colorize_locate.py)."""
    # installed beside this file; in the repository, in gimp_plugin/worker/
    for folder in (HERE, os.path.normpath(os.path.join(HERE, "..", "..", "worker"))):
        if os.path.isfile(os.path.join(folder, "colorize_locate.py")) and folder not in sys.path:
            sys.path.insert(0, folder)
    import colorize_locate

    return colorize_locate.load_bridge(PLUGIN_DIR)


def _error(procedure, message, status=None):
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(status or Gimp.PDBStatusType.EXECUTION_ERROR, error)


def _is_high_precision(image):
    precision = image.get_precision()
    return precision not in (Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_PERCEPTUAL)


def _read(drawable, babl_format, x, y, width, height, scale=1.0, abyss=None):
    """Pixels of ``drawable`` in the rectangle (x, y, width, height) of its ``scale``d copy."""
    rect = Gegl.Rectangle.new(x, y, width, height)
    abyss = Gegl.AbyssPolicy.CLAMP if abyss is None else abyss
    return bytes(drawable.get_buffer().get(rect, scale, babl_format, abyss))


def _scaled(value, scale):
    return max(1, int(round(value * scale)))


def _selection_bytes(image, drawable, width, height, scale):
    """The selection's coverage (one byte per pixel) over the drawable, or None when nothing is selected."""
    if Gimp.Selection.is_empty(image):
        return None
    _, offset_x, offset_y = drawable.get_offsets()
    x, y = int(round(offset_x * scale)), int(round(offset_y * scale))
    return _read(image.get_selection(), "Y u8", x, y, width, height, scale, Gegl.AbyssPolicy.NONE)


def hint_layer_of(config, drawable):
    """The hint layer the user chose, or None; ValueError when it cannot hold hints."""
    layer = config.get_property("hint-layer")
    if layer is None:
        return None
    if layer == drawable:
        raise ValueError(
            f"'{layer.get_name()}' is the layer being colorized; choose a transparent layer with "
            "color strokes as the hint layer"
        )
    if not layer.has_alpha():
        raise ValueError(
            f"the hint layer '{layer.get_name()}' has no alpha channel: paint hints on a transparent "
            "layer (Layer > Transparency > Add Alpha Channel)"
        )
    return layer


def _hints(config, drawable, width, height, scale):
    """The hint layer's 8-bit RGBA pixels aligned with the drawable (at ``scale``), or None."""
    layer = hint_layer_of(config, drawable)
    if layer is None:
        return None
    _, offset_x, offset_y = drawable.get_offsets()
    _, hint_x, hint_y = layer.get_offsets()
    x, y = int(round((offset_x - hint_x) * scale)), int(round((offset_y - hint_y) * scale))
    # Outside the hint layer there are no hints: read transparent there, not the clamped edge.
    data = _read(layer, "R'G'B'A u8", x, y, width, height, scale, Gegl.AbyssPolicy.NONE)
    return {"data": data, "width": width, "height": height, "format": "u8", "channels": 4, "offset": [0, 0]}


REFERENCE_READ_SIDE = 1024  # a reference is read scaled to this long side at most: matching runs at render size


def _reference(config, drawable):
    """The reference layer the user chose (any open image's), as 8-bit RGBA bytes at a modest size, or None."""
    layer = config.get_property("reference-layer")
    if layer is None:
        return None
    if layer == drawable:
        raise ValueError(f"'{layer.get_name()}' is the layer being colorized; the reference is another, color photo")
    scale = min(1.0, REFERENCE_READ_SIDE / max(layer.get_width(), layer.get_height()))
    width, height = _scaled(layer.get_width(), scale), _scaled(layer.get_height(), scale)
    data = _read(layer, "R'G'B'A u8", 0, 0, width, height, scale)
    return {"data": data, "width": width, "height": height, "format": "u8", "channels": 4}


def render_size(config):
    return RENDER_SIZES.get(config.get_property("render-size"), (0, ""))[0]


def model_path(config, settings):
    name = config.get_property("model")
    return os.path.join(settings["models"], name) if name else None


def read_job(bridge, settings, image, drawable, config, scale=1.0, task="colorize", count=None, rendered_as_read=False):
    """A bridge.Job for ``drawable`` read at ``scale`` (1: full size, at the image's precision; below 1: 8-bit,
    for the preview), with its hints and selection; ``task`` and ``count`` as bridge.Job takes them. With
    ``rendered_as_read`` the network runs at the size the layer is read at (the preview reads at its render
    scale already), else at the render size the dialog says."""
    width, height = _scaled(drawable.get_width(), scale), _scaled(drawable.get_height(), scale)
    high = scale == 1.0 and _is_high_precision(image)
    babl_format, sample_format = ("R'G'B'A float", "f32") if high else ("R'G'B'A u8", "u8")
    use_selection = config.get_property("use-selection")
    return bridge.Job(
        _read(drawable, babl_format, 0, 0, width, height, scale),
        width,
        height,
        4,
        sample_format,
        model=model_path(config, settings),
        render_size=max(width, height) if rendered_as_read else render_size(config) or None,
        saturation=config.get_property("saturation"),
        hints=_hints(config, drawable, width, height, scale),
        selection=_selection_bytes(image, drawable, width, height, scale) if use_selection else None,
        selection_format="u8",
        reference=_reference(config, drawable),
        task=task,
        count=count,
    )


class LayerJobs:
    """What the preview and the hint suggestions take from this plug-in: its bridge, and a job for a layer as the
    dialog's settings say."""

    load_bridge = staticmethod(load_bridge)
    model_path = staticmethod(model_path)
    render_size = staticmethod(render_size)
    read_job = staticmethod(read_job)


class Work:
    """One layer's colorization, computed before anything in the image changes."""

    def __init__(self, drawable, result, babl_format):
        self.drawable, self.result, self.babl_format = drawable, result, babl_format


def colorize_layers(image, drawables, config, bridge, settings, progress):
    """Colorize every drawable; returns a list of Work. Raises on failure, before any change to the image."""
    works = []
    for index, drawable in enumerate(drawables):
        job = read_job(bridge, settings, image, drawable, config)
        share = 1.0 / len(drawables)
        result, _ = bridge.colorize_bytes(
            job, settings, lambda fraction, i=index, s=share: progress((i + fraction) * s)
        )
        babl_format = "R'G'B'A float" if job.sample_format == "f32" else "R'G'B'A u8"
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


def apply_results(image, works, output, hint_layer):
    """Write every result into the image as one undo step. If writing fails, the layers this added are removed
    again before the error goes on."""
    added = []
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
                image,
                source.get_name() + " (colorized)",
                source.get_width(),
                source.get_height(),
                Gimp.ImageType.RGBA_IMAGE,
                100.0,
                Gimp.LayerMode.NORMAL,
            )
            _, offset_x, offset_y = source.get_offsets()
            image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
            added.append(layer)
            layer.set_offsets(offset_x, offset_y)
            _write(layer, work, replace=False)
        if hint_layer is not None:
            hint_layer.set_visible(False)  # kept for another run, hidden so the result shows
    except Exception:
        for layer in added:
            image.remove_layer(layer)
        raise
    finally:
        image.undo_group_end()


def _show_dialog(procedure, config, image, layers):
    """The dialog, with a live preview of the first layer; True on OK."""
    from gi.repository import GimpUi

    GimpUi.init("colorize")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Colorize")
    try:
        import colorize_preview

        colorize_preview.attach(dialog, config, image, layers[0], LayerJobs())
    except Exception as error:  # no preview is better than no dialog
        sys.stderr.write(f"colorize: no preview ({error})\n")
    try:
        _attach_suggestions(dialog, config, image, layers[0])
    except Exception as error:
        sys.stderr.write(f"colorize: no hint suggestions in the dialog ({error})\n")
    dialog.fill(None)
    accepted = dialog.run()
    dialog.destroy()
    return accepted


def _attach_suggestions(dialog, config, image, drawable):
    """A "Suggest hint points" button (a new "Colorize hints" layer with dots, chosen as the hint layer, so the
    preview follows it) and a "Show where the model is unsure" switch for the preview."""
    import colorize_preview
    import colorize_suggest
    from gi.repository import Gtk

    row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=6)
    row.set_border_width(6)
    button = Gtk.Button.new_with_mnemonic("Su_ggest hint points")
    button.set_tooltip_text(
        "Adds a transparent 'Colorize hints' layer with dots where a hint would help most, in "
        "the model's guess of their colors: recolor them with the picker and brush"
    )
    unsure = Gtk.CheckButton.new_with_mnemonic("Show where the model is _unsure")
    status = Gtk.Label(label="")

    def suggest(_button):
        try:
            layer = colorize_suggest.suggest_layer(
                LayerJobs(), image, drawable, config, config.get_property("suggestions")
            )
        except Exception as error:  # the image is unchanged; say why where the user looks
            status.set_text(f"No suggestions: {error}")
            return
        config.set_property("hint-layer", layer)
        status.set_text(f"Added '{layer.get_name()}': recolor its dots")

    button.connect("clicked", suggest)
    unsure.connect("toggled", lambda check: colorize_preview.show_uncertainty(dialog, check.get_active()))
    for widget in (button, unsure, status):
        row.pack_start(widget, False, False, 0)
    dialog.get_content_area().pack_start(row, False, False, 0)
    row.show_all()


def _photo_layers(drawables):
    """The selected drawables that hold pixels to colorize: layers, not groups, masks or channels."""
    return [d for d in drawables if isinstance(d, Gimp.Layer) and not d.is_group()]


def run_suggest(procedure, run_mode, image, drawables, config, run_data):
    """python-fu-colorize-suggest-hints: the "Colorize hints" layer for the first selected layer."""
    layers = _photo_layers(drawables)
    if not layers:
        return _error(
            procedure,
            "Select the photo's layer (not a group, mask or channel) to suggest hints for.",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    try:
        import colorize_suggest

        colorize_suggest.suggest_layer(LayerJobs(), image, layers[0], config, config.get_property("suggestions"))
    except Exception as error:
        return _error(procedure, f"No hint points were suggested, the image was not changed: {error}")
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def run(procedure, run_mode, image, drawables, config, run_data):
    layers = _photo_layers(drawables)
    if not layers:
        return _error(
            procedure,
            "Colorize works on layers: select one or more (not a group, mask or channel).",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    if run_mode == Gimp.RunMode.INTERACTIVE:
        if HERE not in sys.path:
            sys.path.insert(0, HERE)  # colorize_preview.py
        if not _show_dialog(procedure, config, image, layers):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    try:
        bridge, settings = load_bridge()
    except Exception as error:
        return _error(procedure, f"Colorize is not installed correctly ({error}). Run ./install.sh again.")
    Gimp.progress_init("Colorizing...")
    try:
        works = colorize_layers(image, layers, config, bridge, settings, Gimp.progress_update)
        apply_results(image, works, config.get_property("output"), config.get_property("hint-layer"))
    except (bridge.BridgeError, ValueError, MemoryError) as error:
        return _error(procedure, f"Colorize failed, the image was not changed: {str(error) or 'out of memory'}")
    except Exception as error:  # a failure while writing: the layers it added are gone again; say what happened
        return _error(procedure, f"Colorize failed while writing the result: {error!r}")
    finally:
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
        return [PROCEDURE, SUGGEST_PROCEDURE]

    def do_create_procedure(self, name):
        suggesting = name == SUGGEST_PROCEDURE
        procedure = Gimp.ImageProcedure.new(
            self, name, Gimp.PDBProcType.PLUGIN, run_suggest if suggesting else run, None
        )
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES)
        procedure.set_menu_label("Colorize: Suggest _Hint Points" if suggesting else "_Colorize...")
        procedure.add_menu_path(MENU_PATH)
        if suggesting:
            procedure.set_documentation(
                "Suggest where color hints would help",
                "Adds a transparent 'Colorize hints' layer with dots where the model is least sure of the color, "
                "each in its current guess. Recolor the dots, then run Colorize with that layer as the hint layer.",
                name,
            )
        else:
            procedure.set_documentation(
                "Colorize black-and-white photos",
                "Adds natural color to the selected layers with a neural network, keeping their luminance. "
                "Paint color hints on a transparent layer and choose it as the hint layer to guide the colors.",
                name,
            )
        procedure.set_attribution("Colorize developers", "Colorize developers", "2026")
        try:
            bridge, settings = load_bridge()
            models = bridge.list_models(settings["models"])
        except Exception:  # still register, so the menu entry appears and explains the problem when run
            models = ["colorize.onnx"]
        flags = GObject.ParamFlags.READWRITE
        procedure.add_choice_argument(
            "model", "_Model", "ONNX model from the models folder", _choice([(m, m) for m in models]), models[0], flags
        )
        procedure.add_choice_argument(
            "render-size",
            "_Render size",
            "How large the network sees the photo: larger is slower, not always better",
            _choice([(nick, label) for nick, (_, label) in RENDER_SIZES.items()]),
            "auto",
            flags,
        )
        procedure.add_double_argument("saturation", "_Saturation", "Scale of the added color", 0.0, 3.0, 1.0, flags)
        procedure.add_choice_argument(
            "output",
            "_Output",
            "Where the result goes",
            _choice([(OUTPUT_NEW_LAYER, "New layer above each layer"), (OUTPUT_REPLACE, "Replace the layer")]),
            OUTPUT_NEW_LAYER,
            flags,
        )
        procedure.add_boolean_argument(
            "use-selection", "Use _selection", "Only color the selection (soft edges kept)", True, flags
        )
        procedure.add_layer_argument(
            "hint-layer", "_Hint layer", "A transparent layer with color strokes or dots (none: no hints)", True, flags
        )
        procedure.add_layer_argument(
            "reference-layer",
            "_Reference",
            "A color photo of the same place or thing "
            "(a layer of any open image): its colors are carried over where it matches, and "
            "nowhere else (none: no reference)",
            True,
            flags,
        )
        procedure.add_int_argument(
            "suggestions", "Hint points to su_ggest", "How many dots 'Suggest hint points' adds", 1, 200, 10, flags
        )
        return procedure


if __name__ == "__main__":
    Gimp.main(Colorize.__gtype__, sys.argv)
