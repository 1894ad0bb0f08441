#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Colorize for GIMP 2.10 (Python-Fu): Filters > Colors > Colorize... on the active layer.

GIMP 2.10's Python is 2.7 and cannot import onnxruntime, so pixels go to Colorize's worker (the project's own
Python 3 environment) through the shared bridge. Valid Python 2.7 and 3. Nothing in the image changes until the
worker has returned a result.
"""

from __future__ import absolute_import, division, print_function

import os
import sys

from gimpfu import (
    NORMAL_MODE,
    PF_DRAWABLE,
    PF_IMAGE,
    PF_OPTION,
    PF_RADIO,
    PF_SLIDER,
    PF_SPINNER,
    PF_STRING,
    PF_TOGGLE,
    RGB,
    RGB_IMAGE,
    RGBA_IMAGE,
    gimp,
    main,
    pdb,
    register,
)

HERE = os.path.dirname(os.path.realpath(__file__))
PLUGIN_DIR = HERE
OUTPUTS = ["New layer above", "Replace the layer"]


def load_bridge():
    """(bridge, settings) of the Colorize project this plug-in belongs to (see colorize_locate.py)."""
    # installed beside this file; in the repository, in gimp_plugin/worker/
    for folder in (HERE, os.path.normpath(os.path.join(HERE, "..", "worker"))):
        if os.path.isfile(os.path.join(folder, "colorize_locate.py")) and folder not in sys.path:
            sys.path.insert(0, folder)
    import colorize_locate

    return colorize_locate.load_bridge(PLUGIN_DIR)


def _models():
    """The model choices as (label, file name) pairs: GIMP stores the name, so a changed folder never silently
    swaps one model for another."""
    try:
        bridge, settings = load_bridge()
        names = bridge.list_models(settings["models"])
    except Exception:  # register anyway: running it then explains what is wrong
        names = ["colorize.onnx"]
    return tuple((name, name) for name in names)


def _region_bytes(drawable, x, y, width, height):
    region = drawable.get_pixel_rgn(x, y, width, height, False, False)
    return bytes(region[x : x + width, y : y + height])


def _selection_bytes(image, drawable):
    """Selection coverage over the drawable (one byte per pixel), or None when nothing is selected."""
    if pdb.gimp_selection_is_empty(image):
        return None
    offset_x, offset_y = drawable.offsets
    width, height = drawable.width, drawable.height
    mask = bytearray(width * height)
    left, top = max(0, offset_x), max(0, offset_y)
    right, bottom = min(image.width, offset_x + width), min(image.height, offset_y + height)
    if right <= left or bottom <= top:
        return bytes(mask)
    rows = bytearray(_region_bytes(image.selection, left, top, right - left, bottom - top))
    span = right - left
    for row in range(bottom - top):
        start = (top - offset_y + row) * width + (left - offset_x)
        mask[start : start + span] = rows[row * span : (row + 1) * span]
    return bytes(mask)


def _hints(image, drawable, name):
    if not name:
        return None, None
    layer = pdb.gimp_image_get_layer_by_name(image, name)
    if layer is None:
        raise ValueError("no layer named '%s' for color hints" % name)
    if not layer.has_alpha:
        raise ValueError("the hint layer '%s' has no alpha channel: paint hints on a transparent layer" % name)
    data = _region_bytes(layer, 0, 0, layer.width, layer.height)
    offset = (layer.offsets[0] - drawable.offsets[0], layer.offsets[1] - drawable.offsets[1])
    return layer, {
        "data": data,
        "width": layer.width,
        "height": layer.height,
        "format": "u8",
        "channels": layer.bpp,
        "offset": offset,
    }


def compute(image, drawable, model_name, render_size, saturation, use_selection, hint_layer):
    """The colorized pixels of ``drawable`` (bytes, channels); raises on any failure, changing nothing."""
    if pdb.gimp_image_get_precision(image) not in (100, 150):  # GIMP_PRECISION_U8_LINEAR / _GAMMA
        raise ValueError(
            "GIMP 2.10's Python-Fu reads 8-bit pixels only: convert the image to 8-bit "
            "(Image > Precision) or use GIMP 3"
        )
    bridge, settings = load_bridge()
    model = os.path.join(settings["models"], model_name)
    if not os.path.isfile(model):
        raise ValueError("the model '%s' is no longer in %s; choose another" % (model_name, settings["models"]))
    width, height = drawable.width, drawable.height
    _, hints = _hints(image, drawable, hint_layer)
    job = bridge.Job(
        _region_bytes(drawable, 0, 0, width, height),
        width,
        height,
        drawable.bpp,
        "u8",
        model=model,
        render_size=int(render_size) or None,
        saturation=float(saturation),
        selection=_selection_bytes(image, drawable) if use_selection else None,
        selection_format="u8",
        hints=hints,
    )
    gimp.progress_init("Colorizing...")
    return bridge.colorize_bytes(job, settings, gimp.progress_update)


def _write(layer, data, replace):
    width, height = layer.width, layer.height
    region = layer.get_pixel_rgn(0, 0, width, height, True, replace)
    region[0:width, 0:height] = data
    layer.flush()
    if replace:
        layer.merge_shadow(True)
    layer.update(0, 0, width, height)


def colorize(image, drawable, model_name, render_size, saturation, output, use_selection, hint_layer):
    try:
        result, channels = compute(image, drawable, model_name, render_size, saturation, use_selection, hint_layer)
    except Exception as error:  # BridgeError, ValueError, MemoryError...: show it, change nothing
        pdb.gimp_progress_end()
        pdb.gimp_message("Colorize failed, the image was not changed: %s" % (str(error) or "out of memory"))
        return
    pdb.gimp_image_undo_group_start(image)
    try:
        if image.base_type != RGB:
            pdb.gimp_image_convert_rgb(image)
        if int(output) == 1:
            if channels == 4 and not drawable.has_alpha:
                pdb.gimp_layer_add_alpha(drawable)
            _write(drawable, result, replace=True)
        else:
            layer = gimp.Layer(
                image,
                drawable.name + " (colorized)",
                drawable.width,
                drawable.height,
                RGBA_IMAGE if channels == 4 else RGB_IMAGE,
                100,
                NORMAL_MODE,
            )
            pdb.gimp_image_insert_layer(image, layer, None, pdb.gimp_image_get_item_position(image, drawable))
            layer.set_offsets(*drawable.offsets)
            _write(layer, result, replace=False)
        if hint_layer:
            hints = pdb.gimp_image_get_layer_by_name(image, hint_layer)
            if hints is not None:
                hints.visible = False
    finally:
        pdb.gimp_image_undo_group_end(image)
    pdb.gimp_progress_end()
    gimp.displays_flush()


register(
    "python-fu-colorize",
    "Colorize black-and-white photos",
    "Adds natural color to the active layer with a neural network, keeping its luminance. Paint color hints on a "
    "transparent layer and give its name to guide the colors.",
    "Colorize developers",
    "Colorize developers",
    "2026",
    "_Colorize...",
    "RGB*, GRAY*",
    [
        (PF_IMAGE, "image", "Input image", None),
        (PF_DRAWABLE, "drawable", "Input layer", None),
        (PF_RADIO, "model", "Model", "colorize.onnx", _models()),
        (PF_SPINNER, "render_size", "Render size (0: the model's default)", 0, (0, 2048, 32)),
        (PF_SLIDER, "saturation", "Saturation", 1.0, (0.0, 3.0, 0.05)),
        (PF_OPTION, "output", "Output", 0, OUTPUTS),
        (PF_TOGGLE, "use_selection", "Use the selection", True),
        (PF_STRING, "hint_layer", "Hint layer name (empty: none)", ""),
    ],
    [],
    colorize,
    menu="<Image>/Filters/Colors",
)

if __name__ == "__main__":
    main()
