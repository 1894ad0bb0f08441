# -*- coding: utf-8 -*-
"""Finds the Colorize project from a GIMP plug-in folder and imports its bridge: the one bootstrap both GIMP
adapters use. install.sh copies this file beside each adapter (not executable, so GIMP does not take it for a
plug-in); run from the repository, the adapters find it one folder up. Valid Python 2.7 and 3, no numpy."""

from __future__ import absolute_import

import json
import os
import sys

CONFIG_NAME = "colorize-config.json"  # written by install.sh beside each adapter


def project_folder(plugin_dir):
    """The project install.sh recorded beside the plug-in, or the repository the plug-in file sits in."""
    path = os.path.join(plugin_dir, CONFIG_NAME)
    if os.path.isfile(path):
        with open(path) as handle:
            return json.load(handle)["project"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(here) if os.path.basename(here) == "gimp_plugin" else os.path.dirname(os.path.dirname(here))


def load_bridge(plugin_dir):
    """(bridge module, settings) for the plug-in in ``plugin_dir``. Raises ImportError, OSError or ValueError when
    the project cannot be found: the adapters turn that into a message."""
    project = project_folder(plugin_dir)
    if project not in sys.path:
        sys.path.insert(0, project)
    from gimp_plugin import bridge

    return bridge, bridge.read_config(plugin_dir)
