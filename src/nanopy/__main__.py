"""``python -m nanopy``: the same command line as the ``nanopy`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
