"""One client connection on the asyncio backend's loop: bytes in from the transport, ASGI out.

The sans-I/O :class:`~devserver.http.connection.HTTPConnection` turns bytes into request
events; this protocol starts an :class:`~devserver.asgi.cycle.HTTPCycle` per request (in
order: a pipelined request waits for the response before it), feeds it the body as it
arrives, pauses reading when the application is not consuming, and decides after each
response whether the connection carries another. An ``Upgrade: websocket`` request hands
the connection to a :class:`~devserver.asgi.websocket.WebSocketSession`.

Deadlines are not timers: each connection keeps one ``deadline`` that the backend's sweep
checks a few times a second (a timer per request would cost more than the check).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from typing import TYPE_CHECKING, Final, cast

from ..accesslog import log_http_attempt, log_https_attempt, log_request
from ..asgi.cycle import HIGH_WATER, HTTPCycle
from ..http.connection import CLOSED, NEED_DATA, HTTPConnection
from ..http.errors import HTTPError, RequestTimeout, ServiceUnavailable
from ..http.parser import MESSAGE_END, BodyChunk, Request, TLSHandshakeReceived
from ..http.response import error_response
from ..tls.plain import PlainHTTPOnTLSPort, plain_http_refusal
from ..wsgi.gateway import ClientDisconnected
from .base import FIRST_REQUEST_GRACE
from .transport import LINGER_SECONDS

logger = logging.getLogger("django.server")

if TYPE_CHECKING:
    from ..asgi.websocket import WebSocketSession
    from .asyncio import AsyncioBackend

#: A body the application left unread is read and dropped up to this size; past it, close.
MAX_DRAIN: Final = 1024 * 1024
_NEVER: Final = math.inf


class ConnectionProtocol(asyncio.Protocol):
    """An HTTP/1.1 connection serving ASGI requests one after another (or a websocket)."""

    def __init__(self, backend: AsyncioBackend, received: bytes = b"", *, plain_on_tls: bool = False) -> None:
        self.backend = backend
        #: Plain HTTP on the port that serves HTTPS: its request is answered with a 400 naming the URL.
        self.plain_on_tls = plain_on_tls
        #: Bytes another process read from this connection before handing it over.
        self._received_before = received
        self.transport: asyncio.Transport | None = None
        self.http = HTTPConnection()
        self.cycle: HTTPCycle | None = None
        self.websocket: WebSocketSession | None = None
        self.client: tuple[str, int] = ("", 0)
        #: When the sweep acts on this connection (see :meth:`expire`).
        self.deadline = _NEVER
        self.write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._reading = True
        #: No request received yet: shutdown waits a moment for the first one (FIRST_REQUEST_GRACE).
        self.fresh = True
        #: Accepted past MAX_CONNECTIONS: its first request gets a 503.
        self.overloaded = False
        #: Answered with an error and half-closed: input is dropped until EOF or the deadline.
        self.lingering = False
        self.lost = False
        #: What arrived of the next request head since the connection was last idle, so that a
        #: restart can hand it over with the connection; None when unknown (it came behind a
        #: request being served: pipelined).
        self._head: bytes | None = b""

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast("asyncio.Transport", transport)  # uvloop's are not subclasses
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client = (str(peer[0]), int(peer[1]))
        backend = self.backend
        if not backend.admit(self):
            transport.abort()
            return
        self.deadline = time.monotonic() + backend.config.keep_alive_timeout
        if self._received_before:  # before anything the transport reads
            self.data_received(self._received_before)
            self._received_before = b""
        if backend.draining:  # accepted before the stop, connected after it (a TLS handshake)
            backend.settle(self)

    def data_received(self, data: bytes) -> None:
        websocket = self.websocket
        if websocket is not None:
            websocket.receive_data(data)
            return
        if self.lingering:
            return
        http = self.http
        cycle = self.cycle
        if cycle is None:
            if http.idle:  # the first bytes of a request head: it must arrive whole in time
                self.deadline = time.monotonic() + self.backend.config.header_timeout
                self._head = data
            elif self._head is not None:
                self._head += data
        elif cycle.waiting:
            self.deadline = time.monotonic() + self.backend.config.header_timeout
        elif http.body_complete and not cycle.response_complete:
            self._pause_reading()  # a pipelined request waits for the response before it
        http.receive(data)
        self._advance()

    def eof_received(self) -> bool | None:
        if self.websocket is not None:
            self.websocket.receive_eof()
            return None
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnect()  # a client that closes its side has gone: the application hears so
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.deadline = _NEVER
        if self.cycle is not None:
            self.cycle.disconnect()
        if self.websocket is not None:
            self.websocket.connection_lost()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.backend.release(self)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- what a cycle (or a websocket session) asks of its connection ---------------------

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait for the client to take what was written, at most SEND_TIMEOUT; then it is dropped."""
        if not self.write_paused or self.lost:
            if self.lost:
                raise ClientDisconnected("The client has gone away.")
            return
        loop = asyncio.get_running_loop()
        waiter = self._drain_waiter = loop.create_future()
        timer = loop.call_later(self.backend.config.send_timeout, self.abort)
        try:
            await waiter
        finally:
            timer.cancel()
            self._drain_waiter = None
        if self.lost:
            raise ClientDisconnected("The client reads too slowly (send timeout) or has gone away.")

    def want_body(self) -> None:
        interim = self.http.take_continue()
        if interim:
            self.write(interim)
        self._resume_reading()
        self.deadline = time.monotonic() + self.backend.config.header_timeout

    def body_taken(self) -> None:
        self.deadline = _NEVER  # the application has what it waited for; it may take its time now
        if not self.http.body_complete:
            self._resume_reading()

    def response_done(self, cycle: HTTPCycle) -> None:
        if cycle is not self.cycle or self.lost:
            return
        http = self.http
        if not (cycle.framer.keep_alive and http.reusable) or (self.backend.stopping and not http.body_complete):
            self.close()
            return
        if not http.body_complete:
            unread = (cycle.request.content_length or 0) - cycle.received
            if unread > MAX_DRAIN or cycle.received > MAX_DRAIN:
                self.close()
                return
            self._resume_reading()  # the rest of the body is read and dropped, then the next request
            self.deadline = time.monotonic() + self.backend.config.header_timeout
            return
        if self.backend.stopping:
            self._after_a_promise_of_keep_alive()
            return
        self._next_request()

    def _after_a_promise_of_keep_alive(self) -> None:
        """The server stops, but this response began before and promised keep-alive: the client
        may be sending its next request right now. On a restart the connection goes to the next
        process; otherwise what already arrived is answered (with ``Connection: close``), and a
        connection with nothing more closes."""
        self.cycle = None
        self._head = b"" if self.http.idle else None
        if self.backend.hand_over(self):
            return
        if self.http.idle:
            self.close()
            return
        self._next_request()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def linger(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.deadline = time.monotonic() + LINGER_SECONDS
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    # -- the request loop ----------------------------------------------------------------

    def _advance(self) -> None:
        """Take parser events while the current request can use them."""
        http = self.http
        while True:
            cycle = self.cycle
            if cycle is not None and http.body_complete:
                return  # the next request waits for this response
            try:
                event = http.next_event()
            except HTTPError as error:
                self._protocol_error(error)
                return
            if isinstance(event, Request):
                self._begin(event)
                if self.websocket is not None or self.lingering:
                    return
            elif isinstance(event, BodyChunk):
                assert cycle is not None
                cycle.feed(event.data)
                if cycle.buffered > HIGH_WATER:
                    self._pause_reading()
            elif event is MESSAGE_END:
                assert cycle is not None
                cycle.end_body()
                if cycle.response_complete:  # the rest of an unread body, now dropped
                    self._next_request()
                    return
            elif event is NEED_DATA:
                return
            else:
                assert event is CLOSED
                self.close()
                return

    def _begin(self, request: Request) -> None:
        self.fresh = False
        self._head = b""
        backend = self.backend
        if self.overloaded:
            self._refuse(backend.overload_error(), request.request_line)
            return
        if self.plain_on_tls:
            self._refuse(plain_http_refusal(request, backend.listening), request.request_line)
            return
        if request.upgrade and _wants_websocket(request):
            self._upgrade(request)
            return
        cycle = self.cycle = HTTPCycle(
            request,
            backend.scopes.http(request, self.client),
            self,
            backend.checker,
            keep_alive=request.keep_alive and not backend.stopping,
            accounting=backend.queries,
        )
        self.deadline = _NEVER
        backend.run_task(cycle.run(backend.application))

    def _next_request(self) -> None:
        """The response is over and the connection stays: wait for (or take) the next request."""
        self.cycle = None
        self._head = b"" if self.http.idle else None
        self.deadline = time.monotonic() + self.backend.config.keep_alive_timeout
        self._resume_reading()
        self._advance()

    def _upgrade(self, request: Request) -> None:
        from ..asgi.handshake import WebSocketUnavailable, start_session

        self.deadline = _NEVER
        if self.backend.stopping:
            self._refuse(ServiceUnavailable("The server is stopping."), request.request_line)
            return
        try:
            self.websocket = start_session(self, self.backend, request, self.http.upgrade_data)
        except WebSocketUnavailable as error:
            logger.error("%s", error.detail)
            self._refuse(error, request.request_line)

    def _protocol_error(self, error: HTTPError) -> None:
        cycle = self.cycle
        if cycle is None:
            self._refuse(error)
            return
        # A malformed body under a request being served: the application hears the client is gone.
        cycle.disconnect()
        if cycle.head_sent:
            self.abort()
        else:
            self._refuse(error, cycle.request.request_line)

    def _refuse(self, error: HTTPError, request_line: str = "-") -> None:
        """Answer, half-close, and drop what the client still sends (a close with unread input
        would reset the connection and could destroy the answer)."""
        self.lingering = True
        transport = self.transport
        if transport is None:
            return
        if isinstance(error, TLSHandshakeReceived):
            log_https_attempt()
            transport.abort()
            return
        transport.write(error_response(error.status, error.detail))
        if isinstance(error, PlainHTTPOnTLSPort):
            log_http_attempt(error.url)
        else:
            log_request(request_line, error.status.value, 0, 0.0)
        self._resume_reading()
        self.deadline = time.monotonic() + LINGER_SECONDS
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def detach(self) -> tuple[socket.socket, bytes] | None:
        """This connection as (socket, bytes received but not handled) if no request is under
        way (idle, or part of the next head received), for another process to adopt; it is then
        forgotten here (its descriptor is duplicated, so closing the transport sends nothing).
        None otherwise."""
        transport = self.transport
        head = self._head
        if (
            transport is None
            or transport.is_closing()
            or self.websocket is not None
            or self.cycle is not None
            or self.lingering
            or head is None
            or not self.http.between_requests
        ):
            return None
        raw = transport.get_extra_info("socket")
        if raw is None:
            return None
        sock = socket.socket(fileno=os.dup(raw.fileno()))
        self.deadline = _NEVER
        transport.close()
        return sock, head

    # -- deadlines and shutdown ----------------------------------------------------------

    def expire(self, now: float) -> None:
        """The deadline passed: close an idle or lingering connection, answer 408 to a slow one."""
        self.deadline = _NEVER
        if self.websocket is not None:
            self.websocket.expire()
        elif self.lingering or (self.cycle is None and self.http.idle):
            self.close()
        elif self.cycle is None:
            self._refuse(RequestTimeout("Timed out reading the request."))
        else:
            self._protocol_error(RequestTimeout("Timed out reading the request body."))

    def begin_shutdown(self, *, restart: bool) -> None:
        """The server stops: close at once if idle (a brand-new connection gets a moment to speak);
        a request in flight finishes (with ``Connection: close``); a websocket is told why."""
        if self.websocket is not None:
            self.websocket.server_stopping(restart=restart)
        elif self.cycle is None and self.http.idle and not self.lingering:
            if self.fresh:
                self.deadline = min(self.deadline, time.monotonic() + FIRST_REQUEST_GRACE)
            else:
                self.close()

    # -- reading -------------------------------------------------------------------------

    def pause(self) -> None:
        self._pause_reading()

    def resume(self) -> None:
        self._resume_reading()

    def _pause_reading(self) -> None:
        if self._reading and self.transport is not None:
            self._reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self._reading and self.transport is not None:
            self._reading = True
            self.transport.resume_reading()


def _wants_websocket(request: Request) -> bool:
    for name, value in request.headers:
        if len(name) == 7 and name.lower() == b"upgrade":
            return b"websocket" in value.lower()
    return False
