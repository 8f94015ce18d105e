"""One request at a time on a ``selectors`` loop: what ``--nothreading`` promises, without the hang.

runserver's ``--nothreading`` blocks reading whichever connection it accepted first, so an idle
browser preconnect freezes the whole server. Here sockets are read only when ready, a request
runs only once its head and body have fully arrived, and every connection has a deadline.
The application always runs on this one thread, so ``breakpoint()`` and non-thread-safe code
behave.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Final

from ..conf import ServerConfig
from ..http.connection import CLOSED, NEED_DATA
from ..http.errors import HTTPError, RequestTimeout
from ..http.parser import MESSAGE_END, BodyChunk, Request
from ..tls.connection import ServerTLSSocket
from ..wsgi.gateway import Transport, WSGIApplication
from ..wsgi.input import BodySpool, RequestBody
from .adoption import AdoptionInbox, HandedConnection
from .base import FIRST_REQUEST_GRACE, OVERLOAD_BACKLOG, RECV_SIZE, BaseBackend
from .handshakes import StartingConnection, StartingConnections
from .inflight import ShutdownCutter
from .pending import PendingConnection, Refusal
from .transport import DONT_WAIT, LINGER_SECONDS, bound_sends

logger = logging.getLogger("django.server")

#: How often deadlines are checked; the precision of every timeout in this backend.
SWEEP_INTERVAL: Final = 0.25


class SingleBackend(BaseBackend):
    """Serves every connection from one thread; the application sees ``wsgi.multithread`` False."""

    name: ClassVar[str] = "single"
    multithread: ClassVar[bool] = False
    serves_tls: ClassVar[bool] = True

    def __init__(self, listener: socket.socket, application: WSGIApplication, config: ServerConfig) -> None:
        super().__init__(listener, application, config)
        self._selector = selectors.DefaultSelector()
        self._connections: dict[socket.socket, PendingConnection] = {}
        self._ready: deque[PendingConnection] = deque()
        self._cutter: ShutdownCutter | None = None
        #: Connections handed over by the process before this one, put there by another thread.
        self._inbox = AdoptionInbox()
        #: Where an accepted connection goes: on the HTTPS port, to its handshake first.
        self._admit_accepted: Callable[[socket.socket, tuple[str, int]], None] = self._admit
        self._starting: StartingConnections | None = None
        if self.tls is not None:
            self._starting = StartingConnections(
                self.tls,
                self._selector,
                timeout=config.header_timeout,
                limit=config.max_connections + OVERLOAD_BACKLOG,
                on_tls=self._admit_tls,
                on_plain=self._admit_plain,
            )
            self._admit_accepted = self._starting.add

    # -- the loop ------------------------------------------------------------------------

    def serve_forever(self) -> None:
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._selector.register(self.stop_reader, selectors.EVENT_READ)
        self._selector.register(self._inbox.reader, selectors.EVENT_READ)
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self.stopping:
                self.step(0.0 if self._ready else SWEEP_INTERVAL)
                now = time.monotonic()
                if now >= next_sweep:
                    self._expire(now)
                    next_sweep = now + SWEEP_INTERVAL
            self._drain()
        finally:
            self._close_all()

    def step(self, timeout: float) -> None:
        """Read whatever is ready, then run the application for one complete request."""
        for key, _ in self._selector.select(timeout):
            if key.fileobj is self.listener:
                self._accept()
            elif isinstance(key.data, PendingConnection) and not key.data.queued:
                self._receive(key.data)
            elif key.fileobj is self._inbox.reader:
                self._adopt_waiting()
            elif isinstance(key.data, StartingConnection):
                self._step_starting(key.data)
        if self._ready:
            self._serve(self._ready.popleft())

    def _step_starting(self, start: StartingConnection) -> None:
        assert self._starting is not None
        self._starting.step(start)

    def _drain(self) -> None:
        """Answer (with ``Connection: close``) the requests already received, and those of
        connections accepted but still silent, which get FIRST_REQUEST_GRACE to speak. On a
        restart, connections with no request under way go to the next process instead.
        """
        self._selector.unregister(self.listener)
        self._selector.unregister(self.stop_reader)
        now = time.monotonic()
        deadline = now + self.config.shutdown_timeout
        grace = now + min(FIRST_REQUEST_GRACE, self.config.shutdown_timeout)
        while True:
            if self.handing_over:
                self._hand_over_idle()
            waiting = bool(self._starting) or any(c.fresh and not c.lingering for c in self._connections.values())
            for key, _ in self._selector.select(max(grace - now, 0) if waiting and not self._ready else 0):
                if isinstance(key.data, PendingConnection) and not key.data.queued:
                    self._receive(key.data)
                elif key.fileobj is self._inbox.reader:
                    self._adopt_waiting()
                elif isinstance(key.data, StartingConnection):
                    self._step_starting(key.data)
            if self._ready:
                self._serve(self._ready.popleft())
            now = time.monotonic()
            if now >= deadline or (not self._ready and (not waiting or now >= grace)):
                return

    def shutdown(self, *, restart: bool = False) -> None:
        """Stop after the request in flight: cut it at once if it is open-ended (see
        :attr:`~devserver.wsgi.gateway.ResponseWriter.open_ended`), else if it outlives the
        drain deadline."""
        super().shutdown(restart=restart)
        if self._cutter is None:
            self._cutter = ShutdownCutter(self.responses, self.config.shutdown_timeout)
            self._cutter.start()

    def adopt(self, connection: HandedConnection) -> bool:
        """Serve a connection the process before this one handed over (called from the
        reloader's thread; the loop takes it from the inbox)."""
        return not self.stopping and self._inbox.put(connection)

    # -- connections ---------------------------------------------------------------------

    def _accept(self) -> None:
        admit = self._admit_accepted
        for sock, client in self.accept_ready():
            admit(sock, client)

    def _admit(
        self,
        sock: socket.socket,
        client: tuple[str, int],
        received: bytes | None = None,
        *,
        refusal: Refusal | None = None,
    ) -> None:
        """Watch a new connection (``received``: adopted, with these bytes of its next request
        head already read; ``refusal``: what its every request gets instead of an answer)."""
        # Blocking, with the kernel bounding each send and every read made with DONT_WAIT:
        # no mode switch and no poll per request. Without DONT_WAIT, non-blocking between
        # requests and Python's timeout mode while one is answered.
        blocking = bool(DONT_WAIT) and bound_sends(sock, self.config.send_timeout)
        if not blocking:
            sock.setblocking(False)
        self._watch(sock, client, received, blocking=blocking, refusal=refusal)

    def _admit_tls(self, sock: ServerTLSSocket, client: tuple[str, int]) -> None:
        """A connection whose handshake is done. It stays non-blocking, like a blocking socket
        here needs no mode switch, and its transport waits (with the send timeout) itself."""
        from ..tls.transport import TLSTransport

        self._watch(sock, client, None, blocking=True, transport=TLSTransport(sock, self.config.send_timeout))

    def _admit_plain(self, sock: socket.socket, client: tuple[str, int]) -> None:
        """Plain HTTP on the HTTPS port: its request is read as usual and answered with a 400."""
        self._admit(sock, client, refusal=self._plain_http_refusal)

    def _plain_http_refusal(self, request: Request) -> HTTPError:
        from ..tls.plain import plain_http_refusal

        return plain_http_refusal(request, self.listening)

    def _overload_refusal(self, request: Request) -> HTTPError:
        return self.overload_error()

    def _watch(
        self,
        sock: socket.socket,
        client: tuple[str, int],
        received: bytes | None,
        *,
        blocking: bool,
        refusal: Refusal | None = None,
        transport: Transport | None = None,
    ) -> None:
        """Past MAX_CONNECTIONS a connection's first request gets a 503; an adopted idle one,
        which has no request to answer, is closed."""
        overloaded = len(self._connections) >= self.config.max_connections
        if overloaded and (received == b"" or len(self._connections) >= self.config.max_connections + OVERLOAD_BACKLOG):
            sock.close()
            return
        connection = PendingConnection(
            sock,
            client,
            time.monotonic() + (self.config.header_timeout if received else self.config.keep_alive_timeout),
            send_timeout=self.config.send_timeout,
            refusal=self._overload_refusal if overloaded else refusal,
            blocking=blocking,
            transport=transport,
        )
        self._connections[sock] = connection
        self._selector.register(sock, selectors.EVENT_READ, connection)
        if received is not None:
            connection.fresh = False
            if received:
                connection.http.receive(received)
                connection.received = received
                self._advance(connection)

    def _adopt_waiting(self) -> None:
        for connection in self._inbox.take():
            if not self.stopping:
                self._admit(connection.sock, connection.client, connection.received)
            elif not self.hand_over(connection.sock, connection.client, connection.received):
                connection.close()

    def _hand_over_idle(self) -> None:
        """Give the next process every connection with no request under way (with the bytes of
        a head that has begun, when they are known)."""
        for connection in list(self._connections.values()):
            if connection.queued or connection.lingering:
                continue
            if connection.http.idle:
                self._give_away(connection, b"")
            elif connection.request is None and connection.received is not None:
                self._give_away(connection, connection.received)

    def _give_away(self, connection: PendingConnection, received: bytes) -> None:
        sock = connection.sock
        self._connections.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        connection.discard_request()
        if not self.hand_over(sock, connection.client, received):
            sock.close()

    def _receive(self, connection: PendingConnection) -> None:
        try:
            data = connection.sock.recv(RECV_SIZE, DONT_WAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(connection)
            return
        if connection.lingering:
            if not data:
                self._close(connection)
            return
        was_idle = connection.http.idle
        connection.http.receive(data)
        if was_idle and data:
            connection.deadline = time.monotonic() + self.config.header_timeout
            connection.received = data
        elif connection.received is not None:
            connection.received += data
        self._advance(connection)

    def _advance(self, connection: PendingConnection) -> None:
        """Take parser events until a whole request is in hand (then queue it) or bytes run out."""
        http = connection.http
        while True:
            try:
                event = http.next_event()
            except HTTPError as error:
                line = connection.request.request_line if connection.request else "-"
                self._refuse(connection, error, line)
                return
            if event is NEED_DATA:
                return
            if event is CLOSED:
                self._close(connection)
                return
            if isinstance(event, Request):
                connection.request = event
                connection.fresh = False
                connection.received = None
                if connection.refusal is not None:
                    self._refuse(connection, connection.refusal(event), event.request_line)
                    return
                if not event.has_body:
                    self._queue(connection)
                    return
                connection.body = BodySpool()
                self._send_continue(connection)
            elif isinstance(event, BodyChunk) and connection.body is not None:
                connection.body.write(event.data)
                connection.deadline = time.monotonic() + self.config.header_timeout
            elif event is MESSAGE_END:
                self._queue(connection)
                return

    def _send_continue(self, connection: PendingConnection) -> None:
        """This backend receives bodies before the application runs, so it invites them at once."""
        interim = connection.http.take_continue()
        if interim:
            with contextlib.suppress(OSError):  # a full buffer just means the client sends anyway
                connection.sock.send(interim, DONT_WAIT)

    def _queue(self, connection: PendingConnection) -> None:
        """A complete request: stop reading this socket until it has been answered.

        It stays registered (two ``epoll_ctl`` calls a request saved); its readiness is ignored.
        """
        connection.queued = True
        self._ready.append(connection)

    def _serve(self, connection: PendingConnection) -> None:
        request = connection.request
        assert request is not None
        sock = connection.sock
        if not connection.blocking:
            sock.settimeout(self.config.send_timeout)  # a slow reader holds the loop this long at most
        spool = connection.body
        try:
            body = spool.reader() if spool is not None else RequestBody()
            response = self.exchange(
                request,
                body,
                connection.transport,
                connection.client,
                sock,
                content_length=spool.size if spool is not None else None,
            )
        finally:
            connection.discard_request()
        if not response.keep_alive or not connection.http.reusable:
            self._close(connection)
            return
        if self.stopping and connection.http.idle:  # the stop came while its response promised more
            if self.handing_over:
                self._give_away(connection, b"")
            else:
                self._close(connection)
            return
        if not connection.blocking:
            sock.setblocking(False)
        connection.deadline = time.monotonic() + self.config.keep_alive_timeout
        connection.queued = False
        self._advance(connection)  # a pipelined request may already be parsed

    def _refuse(self, connection: PendingConnection, error: HTTPError, request_line: str) -> None:
        """Answer, half-close, and drain what the client still sends (a close with unread
        input would reset the connection and could destroy the answer), without blocking the loop.
        """
        sock = connection.sock
        sock.settimeout(1.0)
        self.refuse(connection.transport, error, sock, request_line)
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            self._close(connection)
            return
        connection.discard_request()
        connection.lingering = True
        connection.deadline = time.monotonic() + LINGER_SECONDS

    def _expire(self, now: float) -> None:
        if self._starting is not None:
            self._starting.expire(now)
        for connection in [c for c in self._connections.values() if c.deadline <= now]:
            if connection.queued:
                continue
            if connection.http.idle or connection.lingering:
                self._close(connection)
            else:
                line = connection.request.request_line if connection.request else "-"
                self._refuse(connection, RequestTimeout("Timed out reading the request."), line)

    def _close(self, connection: PendingConnection) -> None:
        sock = connection.sock
        if self._connections.pop(sock, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        connection.discard_request()
        sock.close()

    def _close_all(self) -> None:
        if self._cutter is not None:
            self._cutter.stop()
        if self._starting is not None:
            self._starting.close_all()
        for connection in list(self._connections.values()):
            self._close(connection)
        for handed in self._inbox.close():  # adopted just as the stop began
            if not self.hand_over(handed.sock, handed.client, handed.received):
                handed.close()
        self._ready.clear()
        self._selector.close()
        self.listener.close()
        self.close_stop_signal()
