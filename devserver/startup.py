"""Start-up of ``devrun`` without garbage collection: Django's set-up allocates a great deal and
frees almost nothing, so the collector's full passes (~14 ms each here) are pure cost. devrun
turns the collector back on, after freezing what start-up built, once it serves.
"""

from __future__ import annotations

import gc
import sys

#: The command names that mean "this process is about to serve".
_SERVING_COMMANDS = frozenset({"devrun"})


def pause_collection_for_devrun(argv: list[str] | None = None) -> None:
    """Called while Django loads this app: if the command is devrun, pause the collector."""
    arguments = sys.argv if argv is None else argv
    if len(arguments) > 1 and arguments[1] in _SERVING_COMMANDS:
        gc.disable()


def resume_collection() -> None:
    """Everything allocated so far lives as long as the process: freeze it, then collect again."""
    gc.freeze()
    gc.enable()
