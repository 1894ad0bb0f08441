"""A fake GIMP 2.10 gimpfu: register() with 2.10's signature and checks, PF_* constants, and a pdb object."""

import string

import gimp  # noqa: F401  (the plug-in imports gimp from gimpfu)
import numpy as np

PF_INT8, PF_INT16, PF_INT32, PF_INT, PF_FLOAT, PF_STRING = 0, 1, 2, 2, 3, 4
PF_COLOR, PF_ITEM, PF_DISPLAY, PF_IMAGE, PF_LAYER, PF_CHANNEL, PF_DRAWABLE = 10, 11, 12, 13, 14, 15, 16
PF_TOGGLE, PF_BOOL, PF_SLIDER, PF_SPINNER, PF_ADJUSTMENT, PF_OPTION, PF_RADIO = 1000, 1000, 1001, 1002, 1002, 1006, 1004
RGB, GRAY, INDEXED = 0, 1, 2
RGB_IMAGE, RGBA_IMAGE, GRAY_IMAGE, GRAYA_IMAGE = 0, 1, 2, 3
NORMAL_MODE = 0

REGISTERED = {}
_ALLOWED = set(string.ascii_letters + string.digits + "_-")


class error(RuntimeError):  # noqa: N801 - gimpfu's own name
    pass


def register(
    proc_name,
    blurb,
    help,
    author,
    copyright,
    date,
    label,
    imagetypes,
    params,
    results,
    function,
    menu=None,
    domain=None,
    on_query=None,
    on_run=None,
):
    """The checks gimpfu 2.10 makes at registration, so a plug-in that passes here registers in GIMP."""
    if not set(proc_name) <= _ALLOWED:
        raise error("procedure name contains illegal characters")
    for entry in params:
        if len(entry) < 4:
            raise error(f"parameter definition must contain at least 4 elements ({len(entry)} given: {entry})")
        if not isinstance(entry[0], int):
            raise error("parameter types must be integers")
        if not set(entry[1]) <= _ALLOWED:
            raise error("parameter name contains illegal characters")
        if entry[0] == PF_OPTION and not 0 <= entry[3] < len(entry[4]):
            raise error("option default out of range")
        if entry[0] == PF_RADIO and not all(len(option) == 2 for option in entry[4]):
            raise error("radio options are (label, value) pairs")
        if entry[0] in (PF_SLIDER, PF_SPINNER) and not entry[4][0] <= entry[3] <= entry[4][1]:
            raise error("slider default out of range")
    for entry in results:
        if len(entry) < 3:
            raise error("result definition must contain at least 3 elements")
    if menu and menu.startswith("<Image>") and [p[0] for p in params[:2]] != [PF_IMAGE, PF_DRAWABLE]:
        raise error("an <Image> plug-in takes the image and the drawable first")
    if not callable(function):
        raise error("function is not callable")
    REGISTERED[proc_name] = dict(
        blurb=blurb, label=label, imagetypes=imagetypes, params=params, results=results, function=function, menu=menu
    )


def main():
    pass


class _Pdb:
    def __init__(self):
        self.messages = []

    def gimp_message(self, text):
        self.messages.append(text)

    def gimp_progress_end(self):
        gimp.LOG.append(("progress_end",))

    def gimp_selection_is_empty(self, image):
        return image.selection_empty

    def gimp_image_get_precision(self, image):
        return image.precision

    def gimp_image_get_layer_by_name(self, image, name):
        return next((layer for layer in image.layers if layer.name == name), None)

    def gimp_image_undo_group_start(self, image):
        image.undo_depth += 1
        image.undo_groups += 1

    def gimp_image_undo_group_end(self, image):
        image.undo_depth -= 1

    def gimp_image_convert_rgb(self, image):
        image.base_type = RGB
        for layer in image.layers:
            if layer.bpp in (1, 2):
                color = np.repeat(layer.pixels[..., :1], 3, axis=2)
                layer.pixels = np.concatenate([color, layer.pixels[..., 1:]], axis=2)
        image.history.append(("convert_rgb",))

    def gimp_layer_add_alpha(self, layer):
        layer.pixels = np.concatenate([layer.pixels, np.full(layer.pixels.shape[:2] + (1,), 255, np.uint8)], 2)
        layer.image.history.append(("add_alpha", layer.name))

    def gimp_image_get_item_position(self, image, item):
        return image.layers.index(item)

    def gimp_image_insert_layer(self, image, layer, parent, position):
        image.layers.insert(position, layer)
        image.history.append(("insert_layer", layer.name, position))


pdb = _Pdb()
