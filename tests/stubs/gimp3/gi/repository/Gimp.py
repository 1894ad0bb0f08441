"""A fake libgimp 3.0 for tests: numpy-backed images and layers with the calls Colorize's plug-in makes.

Pixels are stored as float32 in [0, 1], gamma-encoded (like GIMP's "R'G'B'" formats); a layer holds 1 to 4
channels (gray, gray+alpha, RGB, RGBA). Every change to an image is recorded in ``image.history`` so tests can
check that a failed run changed nothing.
"""

import numpy as np

from . import Gegl

LOG = []  # progress and display calls, in order


class _Enum:
    def __init__(self, **values):
        self.__dict__.update(values)


PDBProcType = _Enum(PLUGIN=2)
PDBStatusType = _Enum(EXECUTION_ERROR=0, CALLING_ERROR=1, PASS_THROUGH=2, SUCCESS=3, CANCEL=4)
RunMode = _Enum(INTERACTIVE=0, NONINTERACTIVE=1, WITH_LAST_VALS=2)
ProcedureSensitivityMask = _Enum(DRAWABLE=2, DRAWABLES=4, NO_DRAWABLES=8, ALWAYS=0xFFFF)
Precision = _Enum(U8_LINEAR=100, U8_NON_LINEAR=150, U8_PERCEPTUAL=175, U16_NON_LINEAR=250, FLOAT_NON_LINEAR=650)
ImageBaseType = _Enum(RGB=0, GRAY=1, INDEXED=2)
ImageType = _Enum(RGB_IMAGE=0, RGBA_IMAGE=1, GRAY_IMAGE=2, GRAYA_IMAGE=3)
LayerMode = _Enum(NORMAL=28)


def progress_init(message):
    LOG.append(("progress_init", message))


def progress_update(fraction):
    LOG.append(("progress_update", fraction))


def progress_end():
    LOG.append(("progress_end",))


def displays_flush():
    LOG.append(("displays_flush",))


def main(gtype, argv):
    LOG.append(("main", gtype))


class Choice:
    def __init__(self):
        self.nicks = []

    @classmethod
    def new(cls):
        return cls()

    def add(self, nick, identifier, label, help_text):
        self.nicks.append(nick)


class PlugIn:
    __gtype__ = "GimpPlugIn"

    @staticmethod
    def error_quark():
        return 42


class Config:
    def __init__(self, arguments):
        self.values = {name: spec["default"] for name, spec in arguments.items()}
        self.arguments = arguments
        self.listeners = []

    def get_property(self, name):
        return self.values[name]

    def set_property(self, name, value):
        spec = self.arguments[name]
        if spec["kind"] == "choice" and value not in spec["choice"].nicks:
            raise ValueError(f"{value!r} is not a choice of {name}")
        if spec["kind"] in ("int", "double") and not spec["min"] <= value <= spec["max"]:
            raise ValueError(f"{value!r} is out of range for {name}")
        if spec["kind"] == "layer" and not (value is None and spec["none_ok"] or isinstance(value, Layer)):
            raise TypeError(f"{value!r} is not a layer for {name}")
        self.values[name] = value
        for _signal, callback in self.listeners:
            callback(self, name)

    def connect(self, signal, callback):
        self.listeners.append((signal, callback))


class ImageProcedure:
    def __init__(self, plugin, name, proc_type, run_func, run_data):
        self.name, self.run_func, self.arguments, self.menu_paths = name, run_func, {}, []
        self.image_types = self.menu_label = self.documentation = self.attribution = None
        self.sensitivity = 0

    @classmethod
    def new(cls, plugin, name, proc_type, run_func, run_data):
        return cls(plugin, name, proc_type, run_func, run_data)

    def get_name(self):
        return self.name

    def set_image_types(self, types):
        self.image_types = types

    def set_sensitivity_mask(self, mask):
        self.sensitivity = mask

    def set_menu_label(self, label):
        self.menu_label = label

    def add_menu_path(self, path):
        self.menu_paths.append(path)

    def set_documentation(self, blurb, help_text, help_id):
        self.documentation = (blurb, help_text)

    def set_attribution(self, authors, copyright_text, date):
        self.attribution = (authors, copyright_text, date)

    def _add(self, name, **spec):
        if name in self.arguments:
            raise ValueError(f"argument {name} registered twice")
        self.arguments[name] = spec

    def add_choice_argument(self, name, nick, blurb, choice, default, flags):
        assert default in choice.nicks, "the default must be one of the choices"
        self._add(name, kind="choice", choice=choice, default=default)

    def add_int_argument(self, name, nick, blurb, minimum, maximum, default, flags):
        assert minimum <= default <= maximum
        self._add(name, kind="int", min=minimum, max=maximum, default=default)

    def add_double_argument(self, name, nick, blurb, minimum, maximum, default, flags):
        assert minimum <= default <= maximum
        self._add(name, kind="double", min=minimum, max=maximum, default=default)

    def add_boolean_argument(self, name, nick, blurb, default, flags):
        self._add(name, kind="boolean", default=bool(default))

    def add_string_argument(self, name, nick, blurb, default, flags):
        self._add(name, kind="string", default=default)

    def add_layer_argument(self, name, nick, blurb, none_ok, flags):
        self._add(name, kind="layer", none_ok=none_ok, default=None)

    def create_config(self):
        return Config(self.arguments)

    def new_return_values(self, status, error):
        return status, getattr(error, "message", None)


# --- pixels ------------------------------------------------------------------------------------------------------
def _format(babl_format):
    kind, sample = babl_format.split(" ")
    channels = {"R'G'B'A": 4, "R'G'B'": 3, "Y": 1, "Y'": 1}[kind]
    return channels, {"u8": np.uint8, "float": np.float32}[sample]


def _to_rgba(pixels):
    channels = pixels.shape[2]
    color = np.repeat(pixels[..., :1], 3, axis=2) if channels in (1, 2) else pixels[..., :3]
    alpha = pixels[..., -1:] if channels in (2, 4) else np.ones(pixels.shape[:2] + (1,), np.float32)
    return np.concatenate([color, alpha], axis=2)


class Buffer:
    def __init__(self, owner, array):
        self.owner, self.array = owner, array

    def get(self, rect, scale, babl_format, abyss):
        """The rectangle ``rect`` of the buffer scaled by ``scale`` (nearest sample, as GEGL's level-0 reads)."""
        channels, dtype = _format(babl_format)
        height, width = self.array.shape[:2]
        out = np.zeros((rect.height, rect.width, self.array.shape[2]), np.float32)
        ys = np.floor((np.arange(rect.y, rect.y + rect.height) + 0.5) / scale).astype(int)
        xs = np.floor((np.arange(rect.x, rect.x + rect.width) + 0.5) / scale).astype(int)
        if abyss == Gegl.AbyssPolicy.CLAMP:
            out[:] = self.array[np.clip(ys, 0, height - 1)][:, np.clip(xs, 0, width - 1)]
        else:
            inside_y, inside_x = (ys >= 0) & (ys < height), (xs >= 0) & (xs < width)
            region = self.array[ys[inside_y]][:, xs[inside_x]]
            out[np.ix_(inside_y, inside_x)] = region
        if channels == 1:
            values = out[..., :1] if out.shape[2] in (1, 2) else (out[..., :3] @ [0.2126, 0.7152, 0.0722])[..., None]
        else:
            values = _to_rgba(out)[..., :channels]
        if dtype == np.uint8:
            values = np.round(values * 255).astype(np.uint8)
        return np.ascontiguousarray(values, dtype=dtype).tobytes()

    def set(self, rect, babl_format, data):
        channels, dtype = _format(babl_format)
        values = np.frombuffer(data, dtype=dtype).reshape(rect.height, rect.width, channels).astype(np.float32)
        if dtype == np.uint8:
            values = values / 255
        target = self.array[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
        rgba = _to_rgba(values) if channels != 4 else values
        if target.shape[2] == 4:
            target[:] = rgba
        elif target.shape[2] == 3:
            target[:] = rgba[..., :3]
        else:
            raise ValueError("the fake only writes RGB(A) pixels into RGB(A) layers")
        self.owner.image.history.append(("write", self.owner.name))

    def flush(self):
        pass


class Drawable:
    def __init__(self, image, name, pixels):
        self.image, self.name = image, name
        self.pixels = np.asarray(pixels, np.float32)
        if self.pixels.ndim == 2:
            self.pixels = self.pixels[..., None]
        self.offsets = (0, 0)
        self.visible = True
        self.shadow = None

    def get_width(self):
        return self.pixels.shape[1]

    def get_height(self):
        return self.pixels.shape[0]

    def get_name(self):
        return self.name

    def get_offsets(self):
        return True, self.offsets[0], self.offsets[1]

    def set_offsets(self, x, y):
        self.offsets = (x, y)
        self.image.history.append(("offsets", self.name))

    def has_alpha(self):
        return self.pixels.shape[2] in (2, 4)

    def get_buffer(self):
        return Buffer(self, self.pixels)

    def get_shadow_buffer(self):
        self.shadow = self.pixels.copy()
        return Buffer(self, self.shadow)

    def merge_shadow(self, undo):
        self.pixels[:] = self.shadow
        self.image.history.append(("merge_shadow", self.name))

    def update(self, x, y, width, height):
        pass


class Layer(Drawable):
    def __init__(self, image, name, pixels):
        super().__init__(image, name, pixels)
        self.group = False

    @classmethod
    def new(cls, image, name, width, height, image_type, opacity, mode):
        channels = {ImageType.RGB_IMAGE: 3, ImageType.RGBA_IMAGE: 4, ImageType.GRAY_IMAGE: 1}[image_type]
        return cls(image, name, np.zeros((height, width, channels), np.float32))

    def is_group(self):
        return self.group

    def get_parent(self):
        return None

    def set_visible(self, visible):
        self.visible = visible
        self.image.history.append(("visible", self.name, visible))

    def get_visible(self):
        return self.visible


class Channel(Drawable):
    pass


class Selection:
    @staticmethod
    def is_empty(image):
        return image.selection_mask is None


class Image:
    """Layers top first, like GIMP's stack."""

    def __init__(self, base_type=ImageBaseType.RGB, precision=Precision.U8_NON_LINEAR, width=64, height=48):
        self.base_type, self.precision = base_type, precision
        self.width, self.height = width, height
        self.layers, self.history, self.undo_depth, self.undo_groups = [], [], 0, 0
        self.selection_mask = None

    def add_layer(self, name, pixels, offsets=(0, 0)):
        layer = Layer(self, name, pixels)
        layer.offsets = offsets
        self.layers.append(layer)
        return layer

    def get_precision(self):
        return self.precision

    def get_base_type(self):
        return self.base_type

    def convert_rgb(self):
        self.base_type = ImageBaseType.RGB
        for layer in self.layers:
            if layer.pixels.shape[2] in (1, 2):
                layer.pixels = _to_rgba(layer.pixels)[..., : 3 if layer.pixels.shape[2] == 1 else 4].copy()
        self.history.append(("convert_rgb",))

    def undo_group_start(self):
        self.undo_depth += 1
        self.undo_groups += 1

    def undo_group_end(self):
        self.undo_depth -= 1

    def insert_layer(self, layer, parent, position):
        self.layers.insert(position, layer)
        self.history.append(("insert_layer", layer.name, position))

    def remove_layer(self, layer):
        self.layers.remove(layer)
        self.history.append(("remove_layer", layer.name))

    def get_item_position(self, item):
        return self.layers.index(item)

    def get_layer_by_name(self, name):
        return next((layer for layer in self.layers if layer.name == name), None)

    def select(self, mask):
        self.selection_mask = None if mask is None else np.asarray(mask, np.float32)

    def get_selection(self):
        mask = self.selection_mask if self.selection_mask is not None else np.zeros((self.height, self.width))
        return Channel(self, "selection", mask)
