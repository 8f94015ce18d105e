"""Stop signals belong to the main thread: Python runs a handler only there, and only once
that thread runs again. A signal the kernel hands to another thread waits for it, so threads
block SIGINT and SIGTERM and leave them to the main thread.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator
from typing import Final

STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM})


def block_in_this_thread(signals: Iterable[int] = STOP_SIGNALS) -> None:
    """For a thread's first line: the kernel then delivers ``signals`` elsewhere."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))


@contextlib.contextmanager
def signals_blocked(signals: Iterable[int] = STOP_SIGNALS) -> Iterator[None]:
    """Block ``signals`` in the main thread while inside: threads and processes started
    inside inherit the mask (it survives ``exec``); outside, the main thread gets them again.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
