"""The asyncio backend's connections on the HTTPS port.

asyncio's own TLS (``create_server(ssl=...)``) would meet a plain-HTTP request with a failed
handshake and a silent close. Here the backend accepts itself and looks at each connection's
first byte, as the WSGI backends do: a TLS record goes to asyncio's TLS with whatever remains of
HEADER_TIMEOUT for its handshake (a failure is logged as they log it); anything else is plain
HTTP, served by the usual protocol, which answers its request with a 400 naming the ``https://``
URL. A client that sends nothing is closed at HEADER_TIMEOUT.

On a stop, what was accepted is still served: a silent connection gets FIRST_REQUEST_GRACE to
speak (as on the WSGI backends) and a handshake under way may finish; the backend's drain waits
for both (:attr:`TLSAcceptor.pending`) until its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ..tls.handshake import log_failed, log_failure
from ..tls.plain import is_tls_record
from .base import FIRST_REQUEST_GRACE
from .protocol import ConnectionProtocol

if TYPE_CHECKING:
    from .asyncio import AsyncioBackend

logger = logging.getLogger("django.server")


class TLSAcceptor:
    """Accepts on the listener and sorts each new connection by its first byte."""

    def __init__(self, backend: AsyncioBackend, context: ssl.SSLContext, listener: socket.socket) -> None:
        self._backend = backend
        self._context = context
        self._listener = listener
        self._loop = asyncio.get_running_loop()
        #: Accepted, first byte not seen yet: socket → the timer that closes it at the deadline.
        self._waiting: dict[socket.socket, asyncio.TimerHandle] = {}
        #: Sorted, not connected to a protocol yet: the TLS handshakes (and plain connections) under way.
        self._connecting: set[asyncio.Task[Any]] = set()

    @property
    def pending(self) -> int:
        return len(self._waiting) + len(self._connecting)

    def start(self) -> None:
        self._listener.setblocking(False)
        self._loop.add_reader(self._listener.fileno(), self._accept)

    def close(self) -> None:
        """Stop accepting; a connection still silent gets FIRST_REQUEST_GRACE to speak."""
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._listener.fileno())
        for sock, timer in list(self._waiting.items()):
            if timer.when() > self._loop.time() + FIRST_REQUEST_GRACE:
                timer.cancel()
                self._waiting[sock] = self._loop.call_later(FIRST_REQUEST_GRACE, self._expire, sock)

    def abandon(self) -> None:
        """The backend's drain deadline: close what has not connected."""
        for sock in list(self._waiting):
            self._expire(sock)
        for task in list(self._connecting):
            task.cancel()

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. EMFILE: keep serving the connections we have
                logger.error("Cannot accept a connection: %s", error)
                return
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            deadline = time.monotonic() + self._backend.config.header_timeout
            client = (str(address[0]), int(address[1]))
            self._waiting[sock] = self._loop.call_later(self._backend.config.header_timeout, self._expire, sock)
            self._loop.add_reader(sock.fileno(), self._first_byte, sock, client, deadline)

    def _first_byte(self, sock: socket.socket, client: tuple[str, int], deadline: float) -> None:
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            first = b""
        self._forget(sock)
        if not first:  # gone before a word
            sock.close()
            self._backend.wake_drain()
        elif is_tls_record(first):
            timeout = max(deadline - time.monotonic(), 0.01)
            self._connect(self._handshake(sock, client, timeout))
        else:
            self._connect(self._serve_plain(sock))

    async def _handshake(self, sock: socket.socket, client: tuple[str, int], timeout: float) -> None:
        try:
            await self._loop.connect_accepted_socket(
                lambda: ConnectionProtocol(self._backend), sock, ssl=self._context, ssl_handshake_timeout=timeout
            )
        except TimeoutError:
            log_failure(client, "timed out")
            sock.close()
        except ConnectionAbortedError as error:  # asyncio's word for a handshake past its timeout
            log_failure(client, "timed out" if "longer than" in str(error) else str(error))
            sock.close()
        except OSError as error:
            log_failed(client, error)
            sock.close()
        except asyncio.CancelledError:  # abandoned at the drain deadline
            sock.close()
            raise

    async def _serve_plain(self, sock: socket.socket) -> None:
        """Plain HTTP on the HTTPS port: the usual protocol, which answers with a 400 naming the URL."""
        try:
            await self._loop.connect_accepted_socket(lambda: ConnectionProtocol(self._backend, plain_on_tls=True), sock)
        except OSError:  # the client vanished meanwhile
            sock.close()
        except asyncio.CancelledError:
            sock.close()
            raise

    def _connect(self, connecting: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(connecting)
        self._connecting.add(task)
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[None]) -> None:
        self._connecting.discard(task)
        self._backend.wake_drain()

    def _expire(self, sock: socket.socket) -> None:
        """HEADER_TIMEOUT (or the grace on a stop) passed without a byte: closed, unlogged."""
        self._forget(sock)
        sock.close()
        self._backend.wake_drain()

    def _forget(self, sock: socket.socket) -> None:
        timer = self._waiting.pop(sock, None)
        if timer is not None:
            timer.cancel()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock.fileno())
