"""Suggested hint points in GIMP 3: a transparent "Colorize hints" layer above the photo, with one dot where a
hint would help most, each in the model's current guess of that color. The user recolors the dots (color picker,
brush) and the layer is then the hint layer of an ordinary Colorize run.

Used by the dialog's "Suggest hint points" button and by the python-fu-colorize-suggest-hints procedure. The core
does the work (``gimp_plugin.guidance.suggest``, through the bridge: in-process or the worker); this file only reads the
layer and adds the new one, as one undo step, after the core has answered, so a failure changes nothing.
"""

from gi.repository import Gegl, Gimp

HINT_LAYER_NAME = "Colorize hints"
DEFAULT_COUNT = 10


def suggested_dots(adapter, image, drawable, config, count):
    """(bytes, babl format) of the dots image at the drawable's size, from the core."""
    bridge, settings = adapter.load_bridge()
    job = adapter.read_job(bridge, settings, image, drawable, config, task="suggest-hints", count=int(count))
    result, _ = bridge.colorize_bytes(job, settings, Gimp.progress_update)
    return result, "R'G'B'A float" if job.sample_format == "f32" else "R'G'B'A u8"


def add_hint_layer(image, drawable, dots, babl_format):
    """A new transparent layer with ``dots`` above ``drawable``, as one undo step; a gray image becomes RGB
    (hints are colors). Returns the layer."""
    width, height = drawable.get_width(), drawable.get_height()
    image.undo_group_start()
    try:
        if image.get_base_type() != Gimp.ImageBaseType.RGB:
            image.convert_rgb()
        layer = Gimp.Layer.new(
            image, HINT_LAYER_NAME, width, height, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        _, offset_x, offset_y = drawable.get_offsets()
        image.insert_layer(layer, drawable.get_parent(), image.get_item_position(drawable))
        layer.set_offsets(offset_x, offset_y)
        buffer = layer.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, width, height), babl_format, dots)
        buffer.flush()
        layer.update(0, 0, width, height)
    finally:
        image.undo_group_end()
    return layer


def suggest_layer(adapter, image, drawable, config, count=DEFAULT_COUNT):
    """The "Colorize hints" layer for ``drawable``: computed first, then added (nothing changes on failure)."""
    Gimp.progress_init("Finding where hints would help...")
    try:
        dots, babl_format = suggested_dots(adapter, image, drawable, config, count)
    finally:
        Gimp.progress_end()
    layer = add_hint_layer(image, drawable, dots, babl_format)
    Gimp.displays_flush()
    return layer
