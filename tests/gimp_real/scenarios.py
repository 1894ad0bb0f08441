# Runs inside a real GIMP 3 (gimp-console --batch-interpreter=python-fu-eval -b - < scenarios.py).
# Each scenario builds an image, calls python-fu-colorize through the PDB like a script would, and records the
# outcome and the pixels in $COLORIZE_RESULTS (JSON) for tests/gimp_real/test_gimp_real.py to check.
import base64
import json
import os

from gi.repository import Gegl, Gimp

PDB = Gimp.get_pdb()
WIDTH, HEIGHT = 64, 48
RESULTS = {}


def pixels(drawable, fmt="R'G'B'A u8"):
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    data = bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.CLAMP))
    return base64.b64encode(data).decode("ascii")


def gradient_bytes(channels):
    values = bytearray()
    for y in range(HEIGHT):
        for x in range(WIDTH):
            gray = 60 + (x * 2 + y) % 120
            values += bytes([gray] * channels)
    return bytes(values)


def new_image(base_type, names):
    image = Gimp.Image.new(WIDTH, HEIGHT, base_type)
    layer_type = Gimp.ImageType.GRAY_IMAGE if base_type == Gimp.ImageBaseType.GRAY else Gimp.ImageType.RGB_IMAGE
    channels = 1 if base_type == Gimp.ImageBaseType.GRAY else 3
    layers = []
    for name in names:
        layer = Gimp.Layer.new(image, name, WIDTH, HEIGHT, layer_type, 100.0, Gimp.LayerMode.NORMAL)
        image.insert_layer(layer, None, 0)
        buffer = layer.get_buffer()
        buffer.set(
            Gegl.Rectangle.new(0, 0, WIDTH, HEIGHT), "Y' u8" if channels == 1 else "R'G'B' u8", gradient_bytes(channels)
        )
        buffer.flush()
        layers.append(layer)
    return image, layers


def run(image, layers, **arguments):
    procedure = PDB.lookup_procedure("python-fu-colorize")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", layers)
    for name, value in arguments.items():
        config.set_property(name.replace("_", "-"), value)
    result = procedure.run(config)
    status = result.index(0)
    message = PDB.get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""
    return status == Gimp.PDBStatusType.SUCCESS, message


def record(name, image, ok, message, before=None):
    RESULTS[name] = {
        "ok": ok,
        "message": message,
        "rgb": image.get_base_type() == Gimp.ImageBaseType.RGB,
        "layers": [
            {"name": layer.get_name(), "visible": layer.get_visible(), "pixels": pixels(layer)}
            for layer in image.get_layers()
        ],
        "before": before,
        "width": WIDTH,
        "height": HEIGHT,
    }


def scenario(name):
    def wrap(function):
        try:
            function(name)
        except Exception as error:  # recorded, so the other scenarios still run
            RESULTS[name] = {"crashed": repr(error)}
        return function

    return wrap


procedure = PDB.lookup_procedure("python-fu-colorize")
suggesting = PDB.lookup_procedure("python-fu-colorize-suggest-hints")
RESULTS["registration"] = {
    "found": procedure is not None,
    "menu_paths": list(procedure.get_menu_paths()) if procedure else [],
    "arguments": [spec.get_name() for spec in procedure.get_arguments()] if procedure else [],
    "suggest_menu_paths": list(suggesting.get_menu_paths()) if suggesting else [],
}
MODE = os.environ.get("COLORIZE_SCENARIOS", "all")


if MODE in ("all",):

    @scenario("gray_new_layer")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.GRAY, ["scan"])
        before = pixels(layers[0])
        ok, message = run(image, layers)
        record(name, image, ok, message, before)

    @scenario("two_layers_replace")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["a", "b"])
        ok, message = run(image, layers, output="replace")
        record(name, image, ok, message)

    @scenario("selection")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["photo"])
        before = pixels(layers[0])
        image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, WIDTH // 2, HEIGHT)
        ok, message = run(image, layers, output="replace")
        record(name, image, ok, message, before)

    @scenario("broken_model")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.GRAY, ["scan"])
        before = pixels(layers[0])
        ok, message = run(image, layers, model="broken.onnx")
        record(name, image, ok, message, before)

    @scenario("hints")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["photo"])
        hints = Gimp.Layer.new(
            image, "Color hints", WIDTH, HEIGHT, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        image.insert_layer(hints, None, 0)
        stroke = bytearray(WIDTH * HEIGHT * 4)
        for y in range(10, 20):
            for x in range(10, 30):
                stroke[(y * WIDTH + x) * 4 : (y * WIDTH + x) * 4 + 4] = bytes([0, 60, 255, 255])
        buffer = hints.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, WIDTH, HEIGHT), "R'G'B'A u8", bytes(stroke))
        buffer.flush()
        ok, message = run(image, layers, output="replace", hint_layer=hints)
        record(name, image, ok, message)

    @scenario("opaque_hint_layer")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["opaque", "photo"])
        before = pixels(layers[1])
        ok, message = run(image, [layers[1]], hint_layer=layers[0])
        record(name, image, ok, message, before)

    @scenario("suggest_hints")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.GRAY, ["scan"])
        before = pixels(layers[0])
        procedure = PDB.lookup_procedure("python-fu-colorize-suggest-hints")
        config = procedure.create_config()
        config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
        config.set_property("image", image)
        config.set_core_object_array("drawables", layers)
        config.set_property("suggestions", 5)
        result = procedure.run(config)
        ok = result.index(0) == Gimp.PDBStatusType.SUCCESS
        record(name, image, ok, "" if ok else PDB.get_last_error(), before)

    @scenario("reference")
    def _(name):
        """A color layer of another open image as the reference (the test model with features, contract 2)."""
        image, layers = new_image(Gimp.ImageBaseType.GRAY, ["scan"])
        source, _ = new_image(Gimp.ImageBaseType.RGB, ["color photo"])
        colored = bytearray()
        for y in range(HEIGHT):
            for x in range(WIDTH):
                gray = 60 + (x * 2 + y) % 120
                colored += bytes([min(255, gray + 60), gray, max(0, gray - 50)])
        buffer = source.get_layers()[0].get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, WIDTH, HEIGHT), "R'G'B' u8", bytes(colored))
        buffer.flush()
        reference_before = pixels(source.get_layers()[0])
        ok, message = run(image, layers, model="reference.onnx", reference_layer=source.get_layers()[0])
        record(name, image, ok, message)
        RESULTS[name]["reference_unchanged"] = pixels(source.get_layers()[0]) == reference_before

    @scenario("render_size_fast")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["photo"])
        ok, message = run(image, layers, output="replace", render_size="fast")
        record(name, image, ok, message)

    @scenario("preview_timing")
    def _(name):
        """The dialog preview's work (read at the render scale, colorize) on a 12 MP photo, timed."""
        import importlib.util
        import sys
        import time

        folder = os.path.join(os.environ["GIMP3_DIRECTORY"], "plug-ins", "colorize")
        sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location("colorize", os.path.join(folder, "colorize.py"))
        adapter = importlib.util.module_from_spec(spec)
        sys.modules["colorize"] = adapter
        spec.loader.exec_module(adapter)
        import colorize_preview

        image = Gimp.Image.new(4000, 3000, Gimp.ImageBaseType.GRAY)
        layer = Gimp.Layer.new(image, "big", 4000, 3000, Gimp.ImageType.GRAY_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
        image.insert_layer(layer, None, 0)
        buffer = layer.get_buffer()
        row = bytes((x * 255) // 4000 for x in range(4000))
        buffer.set(Gegl.Rectangle.new(0, 0, 4000, 3000), "Y' u8", row * 3000)
        buffer.flush()
        config = PDB.lookup_procedure("python-fu-colorize").create_config()
        models = os.path.join(os.path.dirname(os.environ["COLORIZE_RESULTS"]), "models")
        if os.path.isfile(os.path.join(models, "shipped.onnx")):  # the real network, for a real time
            config.set_property("model", "shipped.onnx")
        image.clean_all()  # so that any change the preview made would show as a dirty image
        seconds, shapes = [], []
        for saturation in (1.0, 0.8, 1.2):
            config.set_property("saturation", saturation)
            started = time.perf_counter()
            width, height, rgba, size = colorize_preview.render(adapter.LayerJobs(), config, image, layer)
            seconds.append(time.perf_counter() - started)
            shapes.append([width, height, len(rgba), size])
        RESULTS[name] = {"seconds": seconds, "shapes": shapes, "dirty": image.is_dirty()}


if MODE in ("all", "worker"):

    @scenario("worker" if MODE == "worker" else "in_process_again")
    def _(name):
        image, layers = new_image(Gimp.ImageBaseType.RGB, ["photo"])
        ok, message = run(image, layers, output="replace")
        record(name, image, ok, message)


with open(os.environ["COLORIZE_RESULTS"], "w") as handle:
    json.dump(RESULTS, handle)
