"""A server's whole process tree, from ``/proc``: the reloader's supervisor, its child and spares.

Idle CPU and memory are judged on the tree, not on one process, since a reloader spreads its
work (watching, a spare waiting) over several.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    pids, found = [root], []
    while pids:
        pid = pids.pop()
        found.append(pid)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids.extend(int(child) for child in (task / "children").read_text().split())
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU time these processes have used so far (one that has gone counts 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS
