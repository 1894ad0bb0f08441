"""Fake gi.repository: Gimp, Gegl, GLib, GObject and GimpUi backed by numpy (see fake_gimp3)."""

from . import Gegl, Gimp, GimpUi, GLib, GObject, Gtk  # noqa: F401
