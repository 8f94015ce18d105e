#!/usr/bin/env python
"""Django's command-line utility for the devserver test project."""

import importlib.util
import os
import sys
from pathlib import Path


def main() -> None:
    """Run administrative tasks, defaulting to the test project's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
    # Python puts this file's directory on sys.path, so ``testproject`` and ``shop``
    # import from any working directory.  ``devserver`` is normally pip-installed;
    # fall back to the repository checkout (appended, so an install always wins).
    if importlib.util.find_spec("devserver") is None:
        sys.path.append(str(Path(__file__).resolve().parent.parent))
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
