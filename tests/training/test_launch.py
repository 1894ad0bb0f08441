"""The installed commands and the training commands' launcher (training/launch.py): what to install when torch is
missing."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import pytest


@pytest.mark.parametrize("command", ["colorize-train", "colorize-export", "colorize-eval"])
def test_training_tools_without_torch_say_what_to_install(monkeypatch, capsys, command):
    from training import launch

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails, as in a runtime-only install
    assert launch.launch(command, ["--help"]) == launch.EXIT_NOT_INSTALLED
    assert "./install.sh --dev" in capsys.readouterr().err


def test_the_installed_commands_are_the_checking_launcher_and_the_cli():
    """What pip installed: the training commands go through the launcher (which says what to install when torch is
    missing), and colorize is the command line's main."""
    from gimp_plugin.cli import main as cli
    from training import launch

    scripts = {entry.name: entry for entry in entry_points(group="console_scripts")}
    launched = {
        "colorize-train": launch.train,
        "colorize-export": launch.export,
        "colorize-eval": launch.evaluate,
        "colorize-calibrate": launch.calibrate,
    }
    for command, function in launched.items():
        assert scripts[command].load() is function
    assert scripts["colorize"].load() is cli.main
