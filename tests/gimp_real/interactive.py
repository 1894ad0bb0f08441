# Runs inside a real GIMP 3 with its user interface (gimp --batch-interpreter=python-fu-eval -b - < interactive.py),
# on a virtual display: opens $COLORIZE_PHOTO, shows it, and opens Colorize's dialog as a user would from the menu.
# The test watches $COLORIZE_PREVIEW_LOG for the preview being drawn, takes a screenshot, then stops GIMP.
import os

from gi.repository import Gimp, Gio

image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.environ["COLORIZE_PHOTO"]))
Gimp.Display.new(image)
Gimp.displays_flush()
procedure = Gimp.get_pdb().lookup_procedure("python-fu-colorize")
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", image.get_selected_layers())
procedure.run(config)
