"""``python -m gimp_plugin.cli``: the same as the ``colorize`` command."""

import sys

from gimp_plugin.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
