"""``python -m rtimer``: the same as the ``rtimer`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
