"""The training commands' entry points: each checks that the training stack is installed before importing it, so
that a default install (the runtime only) says what to install instead of failing with an import traceback."""

from __future__ import annotations

import importlib
import sys

# command -> (module, the packages it needs beyond the runtime)
COMMANDS = {
    "colorize-train": ("training.trainer.train", ("torch",)),
    "colorize-export": ("training.onnx_io.export", ("torch", "onnx")),
    "colorize-eval": ("training.measure.evaluate", ("torch",)),
    "colorize-calibrate": ("training.measure.calibrate", ("torch",)),
}
EXIT_NOT_INSTALLED = 2


def missing_packages(packages: tuple[str, ...]) -> list[str]:
    missing = []
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def launch(command: str, argv: list[str] | None = None) -> int:
    module, packages = COMMANDS[command]
    missing = missing_packages(packages)
    if missing:
        print(
            f"{command}: this install has the runtime only; {command} needs the training stack "
            f"({', '.join(missing)} missing). Run ./install.sh --dev in the Colorize folder to add it",
            file=sys.stderr,
        )
        return EXIT_NOT_INSTALLED
    return importlib.import_module(module).main(argv)


def train() -> int:
    return launch("colorize-train")


def export() -> int:
    return launch("colorize-export")


def evaluate() -> int:
    return launch("colorize-eval")


def calibrate() -> int:
    return launch("colorize-calibrate")
