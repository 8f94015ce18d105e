"""Changed paths, from the observer's thread to the loop that acts on them, in batches.

Nothing here reads a clock or sleeps by itself: times are passed in, so a test steps a
burst of changes through :class:`Debouncer` with made-up timestamps.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

#: However long changes keep coming, a batch is acted on this long after its first change.
LONGEST_WAIT: Final = 2.0


class ChangeInbox:
    """Paths put by the observer thread, taken all at once by the reloader's loop."""

    def __init__(self) -> None:
        self._paths: list[Path] = []
        self._woken = False
        self._changed = threading.Condition()

    def put(self, path: Path) -> None:
        with self._changed:
            self._paths.append(path)
            self._changed.notify()

    def wake(self) -> None:
        """Make a waiting :meth:`take` return now (to stop the loop)."""
        with self._changed:
            self._woken = True
            self._changed.notify()

    def take(self, timeout: float | None) -> list[Path]:
        """Every path put so far, waiting up to ``timeout`` seconds for the first one."""
        with self._changed:
            if not self._paths and not self._woken and (timeout is None or timeout > 0):
                self._changed.wait(timeout)
            paths, self._paths, self._woken = self._paths, [], False
            return paths


@dataclass(slots=True)
class Batch:
    """Changes close enough in time to be acted on together (a formatter run, a checkout)."""

    first_seen: float
    last_seen: float
    paths: dict[Path, None] = field(default_factory=dict)  # insertion-ordered set

    def __len__(self) -> int:
        return len(self.paths)


class Debouncer:
    """Groups changes until ``quiet`` seconds pass without one (or :data:`LONGEST_WAIT`)."""

    def __init__(self, quiet: float, longest: float = LONGEST_WAIT) -> None:
        self.quiet = quiet
        self.longest = max(longest, quiet)
        self._batch: Batch | None = None

    @property
    def pending(self) -> bool:
        return self._batch is not None

    def add(self, path: Path, now: float) -> None:
        if self._batch is None:
            self._batch = Batch(first_seen=now, last_seen=now)
        self._batch.paths[path] = None
        self._batch.last_seen = now

    def time_left(self, now: float) -> float | None:
        """Seconds until the pending batch is due (0 if it is), ``None`` with nothing pending."""
        if self._batch is None:
            return None
        due = min(self._batch.last_seen + self.quiet, self._batch.first_seen + self.longest)
        return max(due - now, 0.0)

    def pop_due(self, now: float) -> Batch | None:
        """The pending batch once it is due; it is then forgotten."""
        if self.time_left(now) != 0.0:
            return None
        batch, self._batch = self._batch, None
        return batch


def forget_bytecode(paths: Iterable[Path]) -> None:
    """Remove the cached bytecode of changed modules before the next child imports them.

    A ``.pyc`` is trusted when its recorded source mtime (whole seconds) and size match: an
    edit that keeps the size, within the second the previous child compiled the file, would
    otherwise be served as the old code.
    """
    for path in paths:
        if path.suffix == ".py":
            with contextlib.suppress(OSError, ValueError):
                os.remove(importlib.util.cache_from_source(str(path)))
