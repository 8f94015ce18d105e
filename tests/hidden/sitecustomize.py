"""Makes the packages named in ``DEVSERVER_TEST_HIDDEN`` (comma-separated) impossible to import.

A test puts this directory on a subprocess's ``PYTHONPATH``; ``site`` imports this module at
start-up, and from then on importing a hidden package fails exactly as when it is not
installed (``ModuleNotFoundError`` naming it), so the server's own check meets a real
missing package, in a real process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

HIDDEN = frozenset(name for name in os.environ.get("DEVSERVER_TEST_HIDDEN", "").split(",") if name)


class HiddenPackages(MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if HIDDEN:
    sys.meta_path.insert(0, HiddenPackages())
