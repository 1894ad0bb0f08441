# -*- coding: utf-8 -*-
"""Finds the Colorize project from a GIMP plug-in folder and imports its bridge: the one bootstrap both GIMP
adapters use. install.sh copies this file beside each adapter (not executable, so GIMP does not take it for a
plug-in); run from the repository, the adapters find it in gimp_plugin/worker/. Valid Python 2.7 and 3, no numpy."""

from __future__ import absolute_import

import json
import os
import sys

CONFIG_NAME = "colorize-config.json"  # written by install.sh beside each adapter


def read_config(plugin_dir):
    """The install-time settings install.sh wrote beside the plug-in, or, run from the repository, ones derived from
    the repository the plug-in file sits in."""
    path = os.path.join(plugin_dir, CONFIG_NAME)
    if os.path.isfile(path):
        with open(path) as handle:
            return json.load(handle)
    project = _repository_above(os.path.dirname(os.path.abspath(__file__)), plugin_dir)
    return {
        "project": project,
        "python": os.path.join(project, ".venv", "bin", "python"),
        "models": os.path.join(project, "gimp_plugin", "models"),
    }


def _repository_above(folder, plugin_dir):
    while not os.path.isfile(os.path.join(folder, "gimp_plugin", "__init__.py")):
        parent = os.path.dirname(folder)
        if parent == folder:
            raise ValueError("no Colorize project above %s and no %s beside the plug-in" % (plugin_dir, CONFIG_NAME))
        folder = parent
    return folder


def load_bridge(plugin_dir):
    """(bridge module, settings) for the plug-in in ``plugin_dir``. Raises ImportError, OSError or ValueError when
    the project cannot be found: the adapters turn that into a message."""
    config = read_config(plugin_dir)
    if config["project"] not in sys.path:
        sys.path.insert(0, config["project"])
    from gimp_plugin.worker import bridge

    return bridge, config
