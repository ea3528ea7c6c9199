"""``python -m derivations``: the command line is built from the op registry, which knows every
op's flags, so it lives with it (``ui/cli.py``)."""

import sys

from ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
