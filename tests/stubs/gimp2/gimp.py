"""A fake GIMP 2.10 `gimp` module: numpy-backed 8-bit images, layers and pixel regions (see gimpfu.py)."""

import numpy as np

LOG = []


def progress_init(message=None):
    LOG.append(("progress_init", message))


def progress_update(fraction):
    LOG.append(("progress_update", fraction))


def displays_flush():
    LOG.append(("displays_flush",))


class PixelRegion:
    """drawable.get_pixel_rgn(x, y, w, h, dirty, shadow): rgn[x0:x1, y0:y1] reads and writes raw bytes."""

    def __init__(self, drawable, x, y, width, height, dirty, shadow):
        self.drawable, self.bounds, self.dirty, self.shadow = drawable, (x, y, width, height), dirty, shadow

    def _target(self):
        if self.shadow:
            if self.drawable.shadow is None:
                self.drawable.shadow = self.drawable.pixels.copy()
            return self.drawable.shadow
        return self.drawable.pixels

    def _check(self, key):
        (x0, x1), (y0, y1) = (key[0].start, key[0].stop), (key[1].start, key[1].stop)
        x, y, width, height = self.bounds
        if not (x <= x0 < x1 <= x + width and y <= y0 < y1 <= y + height):
            raise IndexError("pixel region index out of range")
        return x0, x1, y0, y1

    def __getitem__(self, key):
        x0, x1, y0, y1 = self._check(key)
        return self._target()[y0:y1, x0:x1].tobytes()

    def __setitem__(self, key, data):
        if not self.dirty:
            raise TypeError("pixel region is not writable (dirty=False)")
        x0, x1, y0, y1 = self._check(key)
        target = self._target()
        target[y0:y1, x0:x1] = np.frombuffer(data, np.uint8).reshape(y1 - y0, x1 - x0, target.shape[2])
        self.drawable.image.history.append(("write", self.drawable.name))


class Drawable:
    def __init__(self, image, name, pixels):
        self.image, self.name = image, name
        self.pixels = np.asarray(pixels, np.uint8)
        if self.pixels.ndim == 2:
            self.pixels = self.pixels[..., None].copy()
        self.offsets = (0, 0)
        self.shadow = None
        self._visible = True

    width = property(lambda self: self.pixels.shape[1])
    height = property(lambda self: self.pixels.shape[0])
    bpp = property(lambda self: self.pixels.shape[2])
    has_alpha = property(lambda self: self.pixels.shape[2] in (2, 4))

    @property
    def visible(self):
        return self._visible

    @visible.setter
    def visible(self, value):
        self._visible = value
        self.image.history.append(("visible", self.name, value))

    def get_pixel_rgn(self, x, y, width, height, dirty=True, shadow=False):
        return PixelRegion(self, x, y, width, height, dirty, shadow)

    def flush(self):
        pass

    def merge_shadow(self, undo=True):
        if self.shadow is not None:
            self.pixels = self.shadow
            self.shadow = None
            self.image.history.append(("merge_shadow", self.name))

    def update(self, x, y, width, height):
        pass

    def set_offsets(self, x, y):
        self.offsets = (x, y)


class Layer(Drawable):
    def __init__(self, image, name, width, height, image_type=1, opacity=100, mode=0):
        channels = {0: 3, 1: 4, 2: 1, 3: 2}[image_type]
        super().__init__(image, name, np.zeros((height, width, channels), np.uint8))


class Image:
    def __init__(self, width=64, height=48, base_type=0, precision=150):
        self.width, self.height, self.base_type, self.precision = width, height, base_type, precision
        self.layers, self.history, self.undo_depth, self.undo_groups = [], [], 0, 0
        self.selection = Drawable(self, "selection", np.zeros((height, width), np.uint8))
        self.selection_empty = True

    def add(self, name, pixels, offsets=(0, 0)):
        layer = Drawable(self, name, pixels)
        layer.offsets = offsets
        self.layers.append(layer)
        return layer

    def select(self, mask):
        self.selection.pixels = np.asarray(mask, np.uint8)[..., None].copy()
        self.selection_empty = False
