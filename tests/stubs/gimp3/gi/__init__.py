"""A fake PyGObject entry point for tests: just enough of `gi` for Colorize's GIMP 3 plug-in."""

REQUIRED = {}


def require_version(namespace, version):
    REQUIRED[namespace] = version
