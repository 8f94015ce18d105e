"""The asyncio backend's connections on the HTTPS port.

asyncio's own TLS (``create_server(ssl=...)``) would meet a plain-HTTP request with a failed
handshake and a silent close. Here the backend accepts itself and looks at each connection's
first byte, as the WSGI backends do: a TLS record goes to asyncio's TLS with whatever remains of
HEADER_TIMEOUT for its handshake (a failure is logged as they log it); anything else is plain
HTTP, served by the usual protocol, which answers its request with a 400 naming the ``https://``
URL. A client that sends nothing is closed at HEADER_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..tls.handshake import log_failed, log_failure
from ..tls.plain import is_tls_record
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
        self._handshakes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._listener.setblocking(False)
        self._loop.add_reader(self._listener.fileno(), self._accept)

    def close(self) -> None:
        """Stop accepting; connections still silent are closed (handshakes under way finish)."""
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._listener.fileno())
        for sock in list(self._waiting):
            self._forget(sock)
            sock.close()

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
        elif is_tls_record(first):
            timeout = max(deadline - time.monotonic(), 0.01)
            task = self._loop.create_task(self._handshake(sock, client, timeout))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)
        else:
            self._serve(sock, lambda: ConnectionProtocol(self._backend, plain_on_tls=True))

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

    def _serve(self, sock: socket.socket, protocol: Callable[[], ConnectionProtocol]) -> None:
        task = self._loop.create_task(self._loop.connect_accepted_socket(protocol, sock))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # a vanished client

    def _expire(self, sock: socket.socket) -> None:
        """HEADER_TIMEOUT passed without a byte: the connection is closed, unlogged."""
        self._forget(sock)
        sock.close()

    def _forget(self, sock: socket.socket) -> None:
        timer = self._waiting.pop(sock, None)
        if timer is not None:
            timer.cancel()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock.fileno())
