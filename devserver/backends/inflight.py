"""Responses being written, so that a shutdown can cut them, and log each one once, as cut.

A backend registers each response while the application runs (one dict store and one pop a
request). Whoever takes a response out of the table logs it: the thread that wrote it, with
its ordinary access line, or :meth:`ResponsesInFlight.cut`, with a ``(cut)`` line written at
once. So a view still running when the process exits has its line before the exit, and a
stream cut on a reload is not logged as a success later by a thread that finds it gone.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Final

from ..accesslog import log_cut
from ..signals import block_in_this_thread
from ..wsgi.gateway import ResponseWriter

#: While a backend drains, how often it looks for responses that became open-ended (a view
#: that returned a stream after the stop began).
CUT_INTERVAL: Final = 0.1


class ResponsesInFlight:
    """The responses under way, each with the socket it goes to."""

    __slots__ = ("by_writer",)

    def __init__(self) -> None:
        #: Written by the backend's hot path directly: ``by_writer[writer] = sock`` before the
        #: application runs, ``by_writer.pop(writer, None)`` after (None: it was cut and logged).
        self.by_writer: dict[ResponseWriter, socket.socket] = {}

    def __len__(self) -> int:
        return len(self.by_writer)

    def cut(self, *, open_ended_only: bool = False) -> set[socket.socket]:
        """Cut responses (only those with nothing left to finish, if asked), logging each as
        cut; the sockets cut. Safe while other threads add and finish responses."""
        cut: set[socket.socket] = set()
        for writer, sock in self.by_writer.copy().items():  # one atomic copy
            if open_ended_only and not writer.open_ended:
                continue
            if self.by_writer.pop(writer, None) is None:
                continue  # it finished meanwhile: its own thread logs it
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # blocked sends fail; the client sees the end
            status = writer.status if writer.head_sent else None
            log_cut(writer.request_line, status, writer.body_bytes, time.perf_counter() - writer.started, sock)
            cut.add(sock)
        return cut


class ShutdownCutter:
    """For a backend whose one thread may be inside the application while it drains: a thread
    that cuts the open-ended responses at once and then every :data:`CUT_INTERVAL`, and every
    response still under way at the deadline."""

    def __init__(self, responses: ResponsesInFlight, timeout: float) -> None:
        self._responses = responses
        self._deadline = time.monotonic() + timeout
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devserver-shutdown-cutter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        block_in_this_thread()
        while True:
            self._responses.cut(open_ended_only=True)
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._stopped.wait(min(remaining, CUT_INTERVAL)):
                return
        self._responses.cut()


def cut_in_flight(backend: object) -> None:
    """Cut and log whatever ``backend`` is still writing (a forced exit): through its own
    ``cut_in_flight()`` (the asyncio backend), or its :class:`ResponsesInFlight`; nothing for
    a backend that has neither."""
    cut = getattr(backend, "cut_in_flight", None)
    if callable(cut):
        cut()
        return
    responses = getattr(backend, "responses", None)
    if isinstance(responses, ResponsesInFlight):
        responses.cut()
