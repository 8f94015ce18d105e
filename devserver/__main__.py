"""``python -m devserver [devrun's arguments]``: see :mod:`devserver.launcher`."""

import sys

from .launcher import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m devserver"))
