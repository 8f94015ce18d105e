"""The single backend's connections on the HTTPS port, before HTTP: stepped by its loop.

The loop has one thread, so nothing here waits. A new connection is watched until its first
byte arrives. A TLS record (``0x16``: a handshake) wraps it in TLS, and the handshake goes a
step further each time the socket is ready (for reading or for writing, as OpenSSL asks); any
other byte is plain HTTP, given back to the backend to be answered with a 400. A connection still here HEADER_TIMEOUT
after it connected (silent, or stalled mid-handshake) is closed.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import time
from collections.abc import Callable

from ..tls.connection import ServerTLSSocket
from ..tls.handshake import advance, log_failed, log_failure, wrap
from ..tls.plain import is_tls_record


class StartingConnection:
    """A connection whose protocol is not known yet, or whose handshake is under way."""

    __slots__ = ("client", "deadline", "event", "sock", "tls")

    def __init__(self, sock: socket.socket, client: tuple[str, int], deadline: float) -> None:
        self.sock = sock
        self.client = client
        self.deadline = deadline
        #: Set once the first byte opened a handshake (``sock`` is then this same socket).
        self.tls: ServerTLSSocket | None = None
        self.event = selectors.EVENT_READ


class StartingConnections:
    """Every :class:`StartingConnection` of one loop, registered in its selector with itself as data."""

    def __init__(
        self,
        context: ssl.SSLContext,
        selector: selectors.BaseSelector,
        *,
        timeout: float,
        limit: int,
        on_tls: Callable[[ServerTLSSocket, tuple[str, int]], None],
        on_plain: Callable[[socket.socket, tuple[str, int]], None],
    ) -> None:
        """``timeout``: from connecting to the end of the handshake; ``limit``: how many may be
        starting at once (past it, a new connection is closed at once); ``on_tls``/``on_plain``:
        where a connection goes once it is known, its selector registration removed."""
        self._context = context
        self._selector = selector
        self._timeout = timeout
        self._limit = limit
        self._on_tls = on_tls
        self._on_plain = on_plain
        self._starting: dict[socket.socket, StartingConnection] = {}

    def __len__(self) -> int:
        return len(self._starting)

    def add(self, sock: socket.socket, client: tuple[str, int]) -> None:
        if len(self._starting) >= self._limit:
            sock.close()
            return
        sock.setblocking(False)
        start = StartingConnection(sock, client, time.monotonic() + self._timeout)
        self._starting[sock] = start
        self._selector.register(sock, selectors.EVENT_READ, start)

    def step(self, start: StartingConnection) -> None:
        """Its socket is ready: look at the first byte, or take the handshake a step further."""
        if start.tls is None and not self._sniff(start):
            return
        tls = start.tls
        assert tls is not None
        try:
            event = advance(tls)
        except OSError as error:
            log_failed(start.client, error)
            self._close(start)
            return
        if not event:
            self._forget(start)
            self._on_tls(tls, start.client)
        elif event != start.event:
            start.event = event
            self._selector.modify(tls, event, start)

    def _sniff(self, start: StartingConnection) -> bool:
        """True once the first byte opened a handshake (``start.tls`` set); False otherwise (not
        here yet, gone, or plain HTTP and handed back)."""
        try:
            first = start.sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self._close(start)
            return False
        if not first:
            self._close(start)
            return False
        self._forget(start)
        if not is_tls_record(first):
            self._on_plain(start.sock, start.client)
            return False
        start.tls = wrap(self._context, start.sock)  # the same descriptor, now TLS
        start.sock = start.tls
        self._starting[start.tls] = start
        self._selector.register(start.tls, selectors.EVENT_READ, start)
        return True

    def expire(self, now: float) -> None:
        """Close the connections past their deadline (a stalled handshake is logged)."""
        for start in [s for s in self._starting.values() if s.deadline <= now]:
            if start.tls is not None:
                log_failure(start.client, "timed out")
            self._close(start)

    def close_all(self) -> None:
        for start in list(self._starting.values()):
            self._close(start)

    def _forget(self, start: StartingConnection) -> None:
        self._starting.pop(start.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(start.sock)

    def _close(self, start: StartingConnection) -> None:
        self._forget(start)
        start.sock.close()
