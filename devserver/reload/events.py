"""The supervisor's one queue: events from its threads and from signal handlers.

A signal may be delivered to any thread of the supervisor (it has a few per child). Python
runs the handler on the main thread only, and only once that thread runs again, so a main
thread asleep on an ordinary lock would never notice SIGTERM. Here it sleeps in
``select()`` on two sockets instead: one written by :meth:`EventQueue.put`, and one that
the interpreter writes to, from any thread, when a signal arrives (``signal.set_wakeup_fd``).
"""

from __future__ import annotations

import collections
import contextlib
import selectors
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")


class EventQueue(Generic[Item]):
    """``put`` from any thread or signal handler; ``get`` on the main thread."""

    def __init__(self) -> None:
        self._items: collections.deque[Item] = collections.deque()  # append/popleft are atomic
        self._reader, self._writer = socket.socketpair()
        self._signal_reader, self._signal_writer = socket.socketpair()
        for sock in (self._reader, self._writer, self._signal_reader, self._signal_writer):
            sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._reader, selectors.EVENT_READ)
        self._selector.register(self._signal_reader, selectors.EVENT_READ)

    def put(self, item: Item, /) -> None:
        self._items.append(item)
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway (or closed: no reader)
            self._writer.send(b"\0")

    def get(self, timeout: float | None = None) -> Item | None:
        """The next item; None if ``timeout`` seconds pass first (or a signal's handler ran
        and put nothing)."""
        if not self._items and self._selector.select(timeout):
            for sock in (self._reader, self._signal_reader):
                with contextlib.suppress(BlockingIOError):
                    sock.recv(4096)
        # Pending Python signal handlers have run by now (they may have put an item).
        return self._items.popleft() if self._items else None

    @contextlib.contextmanager
    def waking_on_signals(self) -> Iterator[None]:
        """While inside, a signal delivered to any thread wakes :meth:`get` (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.set_wakeup_fd(self._signal_writer.fileno(), warn_on_full_buffer=False)
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous)

    def close(self) -> None:
        """Idempotent."""
        self._selector.close()
        for sock in (self._reader, self._writer, self._signal_reader, self._signal_writer):
            sock.close()
