"""The Colorize dialog's live preview (GIMP 3): the first selected layer, colorized by the same core as the final
run, at the same render size, and shown at about 400 x 300.

It reads the layer, its hints and the selection at the render scale (GEGL reads a scaled copy directly, so a
12 MP photo costs what its 512-pixel copy does), runs them through the bridge (in-process or the worker), and
draws the result into a GimpPreviewArea. It never writes to the image, so the image and its undo history stay as
they are. A change to any setting redraws it after a short pause (several changes in a row redraw once).
"""

import json
import os
import time

from gi.repository import Gimp, GimpUi, GLib, Gtk

PREVIEW_BOX = (400, 300)  # the preview fits inside this
REDRAW_DELAY_MS = 120  # wait this long after a change before redrawing
BACKGROUND = (0x30, 0x30, 0x30)  # around a photo that does not fill the box; close to GIMP's dark theme
# "Automatic" when this Python cannot ask the model (worker path): the layer is read at this size, and the core
# then reduces it to the model's own default, as in the final run.
FALLBACK_RENDER_SIZE = 384


_PREVIEWS = {}  # dialog -> its Preview


def attach(dialog, config, image, drawable, adapter):
    """Put a preview of ``drawable`` at the top of ``dialog`` (before ``dialog.fill``) and keep it current.
    ``adapter`` is the plug-in's LayerJobs: it finds the bridge and reads jobs."""
    preview = Preview(config, image, drawable, adapter)
    _PREVIEWS[dialog] = preview
    dialog.get_content_area().pack_start(preview.box, False, False, 0)
    preview.box.show_all()
    config.connect("notify", lambda *_: preview.schedule())
    preview.schedule()
    return preview


def show_uncertainty(dialog, shown):
    """Show, instead of the colorized preview, where the model is unsure of its color (or go back to it)."""
    preview = _PREVIEWS.get(dialog)
    if preview is not None:
        preview.uncertainty = bool(shown)
        preview.schedule()


class Preview:
    def __init__(self, config, image, drawable, adapter):
        self.config, self.image, self.drawable, self.adapter = config, image, drawable, adapter
        self.pending = None
        self.uncertainty = False  # show the uncertainty map instead of the result
        self.area = GimpUi.PreviewArea.new()
        self.area.set_size_request(*PREVIEW_BOX)
        frame = Gtk.Frame()
        frame.add(self.area)
        self.label = Gtk.Label(label="Preview: computing...")
        self.box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.box.set_border_width(6)
        self.box.pack_start(frame, False, False, 0)
        self.box.pack_start(self.label, False, False, 0)

    def schedule(self):
        if self.pending is not None:
            GLib.source_remove(self.pending)
        self.pending = GLib.timeout_add(REDRAW_DELAY_MS, self._redraw)

    def _redraw(self):
        self.pending = None
        started = time.perf_counter()
        try:
            width, height, rgba, render = self.compute()
        except Exception as error:  # shown where the preview is; the dialog stays usable
            self.label.set_text(f"Preview not available: {error}")
            return False
        shown_w, shown_h, pixels = _fit(rgba, width, height)
        box_w, box_h = PREVIEW_BOX
        self.area.fill(0, 0, box_w, box_h, *BACKGROUND)  # the preview's box, the photo centred in it
        left, top = (box_w - shown_w) // 2, (box_h - shown_h) // 2
        self.area.draw(left, top, shown_w, shown_h, Gimp.ImageType.RGBA_IMAGE, pixels, shown_w * 4)
        self.area.queue_draw()
        seconds = time.perf_counter() - started
        scale = f"rendered at {width} x {height}" if render else "at the model's render size"
        what = "Where the model is unsure (bright: least sure)," if self.uncertainty else "Preview of"
        self.label.set_text(f"{what} '{self.drawable.get_name()}' {scale} in {seconds:.2f} s")
        _log({"drawn": True, "seconds": seconds, "render": [width, height], "shown": [shown_w, shown_h]})
        return False

    def compute(self):
        return render(self.adapter, self.config, self.image, self.drawable, "uncertainty" if self.uncertainty else None)


def render(adapter, config, image, drawable, task=None):
    """(width, height, RGBA bytes, render size or None when the core chose it): ``drawable`` colorized as
    ``config`` says, at the render scale. ``adapter`` is the plug-in's LayerJobs (it finds the bridge and reads jobs);
    nothing in the image changes."""
    bridge, settings = adapter.load_bridge()
    path = adapter.model_path(config, settings)
    known = adapter.render_size(config) or bridge.default_render_size(path, settings, None)
    size = known or FALLBACK_RENDER_SIZE
    longest = max(drawable.get_width(), drawable.get_height())
    # Read at the render scale already: no second reduction. Unknown: the core applies the model's default.
    job = adapter.read_job(
        bridge,
        settings,
        image,
        drawable,
        config,
        min(1.0, size / longest),
        task or "colorize",
        rendered_as_read=bool(known),
    )
    result, channels = bridge.colorize_bytes(job, settings)
    if channels != 4:
        raise ValueError("the core returned no alpha channel")
    return job.width, job.height, result, known


def _fit(rgba, width, height):
    """(width, height, bytes) of the RGBA image shrunk to fit PREVIEW_BOX (GdkPixbuf: no numpy needed here)."""
    factor = min(1.0, PREVIEW_BOX[0] / width, PREVIEW_BOX[1] / height)
    if factor >= 1.0:
        return width, height, rgba
    from gi.repository import GdkPixbuf

    shown_w, shown_h = max(1, int(width * factor)), max(1, int(height * factor))
    pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
        GLib.Bytes.new(rgba), GdkPixbuf.Colorspace.RGB, True, 8, width, height, width * 4
    )
    small = pixbuf.scale_simple(shown_w, shown_h, GdkPixbuf.InterpType.BILINEAR)
    rows = small.get_pixels()
    stride = small.get_rowstride()
    if stride == shown_w * 4:
        return shown_w, shown_h, bytes(rows)
    return shown_w, shown_h, b"".join(bytes(rows[y * stride : y * stride + shown_w * 4]) for y in range(shown_h))


def _log(entry):
    """Timings for tests and benchmarks: appended to $COLORIZE_PREVIEW_LOG when it is set."""
    path = os.environ.get("COLORIZE_PREVIEW_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
