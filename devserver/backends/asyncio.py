"""The ``asyncio`` backend: ASGI applications on one event loop (uvloop's when it is installed).

One thread runs the loop: it accepts connections, runs the HTTP layer for each
(:mod:`.protocol`), and runs the application's coroutines. Django runs sync views and
middleware in threads of its own (``sync_to_async``), as under any ASGI server.

Stopping (:meth:`AsyncioBackend.shutdown`) is safe from a signal handler or another thread:
it only schedules the stop on the loop. Then the server stops accepting, idle connections
close, requests in flight finish (their responses close the connection), websockets are
closed with 1001 (going away) or, on a reload, 1012 (service restart) so their clients
reconnect to the next process; whatever still runs at the drain deadline is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import logging
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Final, Protocol

from ..asgi.headers import StartChecker
from ..asgi.lifespan import Lifespan
from ..asgi.scope import ScopeBuilder
from ..asgi.types import ASGIApplication, Scope
from ..conf import ServerConfig
from ..http.errors import ServiceUnavailable
from ..http.parser import Request
from ..listener import BACKLOG
from ..sql.accounting import query_accounting
from .adoption import ConnectionHandover, HandedConnection
from .base import OVERLOAD_BACKLOG
from .inflight import CUT_INTERVAL
from .protocol import ConnectionProtocol

logger = logging.getLogger("django.server")

#: How often deadlines are checked: the precision of every timeout in this backend.
SWEEP_INTERVAL: Final = 0.25
#: After the drain deadline, cut connections' applications get this long to notice before they are cancelled.
CANCEL_GRACE: Final = 0.5


def loop_factory(choice: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when it is installed (the ``uvloop`` extra) and ``choice`` allows it, else asyncio's."""
    if choice == "asyncio":
        return asyncio.new_event_loop
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class Accepting(Protocol):
    """What accepts this backend's connections, as the stop sees it."""

    def close(self) -> None:
        """Stop accepting (connections accepted already go on to their protocol)."""

    @property
    def pending(self) -> int:
        """Connections accepted that have no protocol yet (a TLS handshake under way)."""

    def abandon(self) -> None:
        """At the drain deadline: close what is still pending."""


class _ServerAccepting:
    """Plain HTTP: asyncio's server, whose accepted connections get their protocol at once."""

    pending: Final = 0

    def __init__(self, server: asyncio.Server) -> None:
        self._server = server

    def close(self) -> None:
        self._server.close()

    def abandon(self) -> None:
        pass


class AsyncioBackend:
    """Serves an ASGI application: HTTP/1.1 (keep-alive, pipelining) and websockets."""

    name: ClassVar[str] = "asyncio"
    multithread: ClassVar[bool] = False
    #: The application interface this backend serves (the WSGI backends serve "wsgi").
    interface: ClassVar[str] = "asgi"
    #: ``--cert-file``: asyncio's own TLS, the handshake bounded by HEADER_TIMEOUT.
    serves_tls: ClassVar[bool] = True

    def __init__(self, listener: socket.socket, application: ASGIApplication, config: ServerConfig) -> None:
        self.listener = listener
        self.application = application
        self.config = config
        host, port = listener.getsockname()[:2]
        self.tls: ssl.SSLContext | None = None
        if config.cert_file is not None:
            from ..tls.context import configured_context  # ssl's certificate loading: only for HTTPS

            self.tls = configured_context(config)
        #: A TLS session lives in the process that negotiated it: such connections are not handed over.
        self.hands_over_connections = self.tls is None
        #: Where the listening socket is, for the URL a plain-HTTP request on the HTTPS port is told to use.
        self.listening = (str(host), int(port))
        self.state: dict[str, Any] = {}
        self.scopes = ScopeBuilder((str(host), int(port)), state=self.state, secure=self.tls is not None)
        self.checker = StartChecker()
        self.connections: set[ConnectionProtocol] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.lifespan = Lifespan(application, self.state)
        #: Each request's SQL for its access line; None when nothing is counted.
        self.queries = query_accounting(
            summary=config.sql_summary, n_plus_one=config.sql_n_plus_one, print_sql=config.print_sql
        )
        self._runner: asyncio.Runner | None = None
        #: Applications run in a context of their own, as in a fresh server process: not in the
        #: command's, which start-up filled (Django's asgiref Locals: the active translation, ...).
        self._context = contextvars.Context()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        #: While draining: set whenever a connection or a pending accept ends, to look again.
        self._drain_wake: asyncio.Event | None = None
        self._started = False
        self._stopping = False
        #: Application work was cut at the drain deadline; some of it may still run in a thread.
        self.cut_work = False
        #: Set by ``shutdown(restart=True)``: a newer process takes over once this one stops.
        self.restarting = False
        #: Set by the reloader in a child it may restart: where idle connections go on a restart.
        self.handover: ConnectionHandover | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def draining(self) -> bool:
        """The stop has begun with the connections there were: later ones are settled one by one."""
        return self._drain_wake is not None

    @classmethod
    def describe(cls, config: ServerConfig) -> str:
        """For the banner: the backend and the event loop it will run."""
        factory = loop_factory(config.event_loop)
        return f"{cls.name} backend on {'uvloop' if factory is not asyncio.new_event_loop else 'asyncio'}"

    # -- the Backend protocol ----------------------------------------------------------

    def start(self) -> None:
        """Create the loop and run the application's lifespan startup (before "ready" is announced).

        Raises :class:`~devserver.asgi.lifespan.LifespanStartupError` if the application says
        it failed to start.
        """
        if self._started:
            return
        self._started = True
        self._runner = asyncio.Runner(loop_factory=loop_factory(self.config.event_loop))
        self._loop = self._runner.get_loop()
        try:
            self._runner.run(self.lifespan.startup(), context=self._context)
        except BaseException:
            self._runner.close()  # nothing will serve: leave no loop and no socket behind
            self.listener.close()
            raise

    def serve_forever(self) -> None:
        try:
            self.start()
            assert self._runner is not None
            self._runner.run(self._serve(), context=self._context)
        finally:
            if self._runner is not None:
                self._runner.close()
            if self.listener.fileno() != -1:
                self.listener.close()

    @property
    def abandoned_threads(self) -> bool:
        """Whether application code cut at the deadline still runs in threads (a sync view in
        ``sync_to_async``'s executor): the process must then leave without waiting for them, since
        interpreter shutdown joins every non-daemon thread."""
        if not self.cut_work:
            return False
        deadline = time.monotonic() + CANCEL_GRACE
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(max(0.0, deadline - time.monotonic()))
        return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread())

    def shutdown(self, *, restart: bool = False) -> None:
        """Begin a graceful stop: from the loop's thread, a signal handler or any other thread."""
        self.restarting = self.restarting or restart
        self._stopping = True
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed: nothing to stop
                loop.call_soon_threadsafe(self._request_stop)

    # -- connections from elsewhere, and to elsewhere (the reloader's hand-over) ----------

    def adopt(self, connection: HandedConnection) -> bool:
        """Serve a connection another process handed over (an idle keep-alive connection, and
        the bytes of its next request already read) as if just accepted. Safe from any thread;
        False if this backend does not serve (any more): the caller keeps the connection."""
        loop = self._loop
        if loop is None or self._stopping:
            return False
        try:
            loop.call_soon_threadsafe(lambda: loop.create_task(self._adopt(connection)))
        except RuntimeError:  # the loop has closed meanwhile
            return False
        return True

    async def _adopt(self, connection: HandedConnection) -> None:
        if self._stopping:  # stopped between the call and this task: give it back, or close it
            if not (self.restarting and self.handover is not None and self.handover.give(connection)):
                connection.close()
            return
        sock = connection.sock
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: ConnectionProtocol(self, connection.received), sock)

    def detach_idle(self, timeout: float = 5.0) -> list[tuple[socket.socket, bytes]]:
        """Take the idle keep-alive connections away from this backend, each as (socket, bytes
        received but not handled), for a newer process to :meth:`adopt`. Safe from any thread
        but the loop's own."""
        loop = self._loop
        if loop is None:
            return []

        async def detach() -> list[tuple[socket.socket, bytes]]:
            detached = [connection.detach() for connection in list(self.connections)]
            return [pair for pair in detached if pair is not None]

        return asyncio.run_coroutine_threadsafe(detach(), loop).result(timeout)

    def hand_over(self, connection: ConnectionProtocol) -> bool:
        """On a restart: give ``connection`` to the next process if no request is under way on
        it; True if it is gone from here."""
        handover = self.handover
        if not self.restarting or handover is None:
            return False
        detached = connection.detach()
        if detached is None:
            return False
        sock, received = detached
        if not handover.give(HandedConnection(sock, connection.client, received)):
            sock.close()  # its transport is closed already: nobody else can serve it
        return True

    # -- what connections ask of the server ----------------------------------------------

    def admit(self, connection: ConnectionProtocol) -> bool:
        """Count a new connection in; past MAX_CONNECTIONS it is only answered 503 (far past it, dropped)."""
        count = len(self.connections)
        if count >= self.config.max_connections + OVERLOAD_BACKLOG:
            return False
        connection.overloaded = count >= self.config.max_connections
        self.connections.add(connection)
        return True

    def release(self, connection: ConnectionProtocol) -> None:
        self.connections.discard(connection)
        self.wake_drain()

    def wake_drain(self) -> None:
        """A connection or a pending accept has ended: the drain looks whether all are done."""
        if self._drain_wake is not None:
            self._drain_wake.set()

    def settle(self, connection: ConnectionProtocol) -> None:
        """What the stop does with each connection: on a restart an idle one goes to the next
        process; otherwise it closes when idle, or after the request under way."""
        if not self.hand_over(connection):
            connection.begin_shutdown(restart=self.restarting)

    def overload_error(self) -> ServiceUnavailable:
        return ServiceUnavailable(f"Too many connections (the limit is {self.config.max_connections}).")

    def websocket_scope(self, request: Request, client: tuple[str, int], subprotocols: list[str]) -> Scope:
        return self.scopes.websocket(request, client, subprotocols)

    def run_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run an application coroutine; tracked so that shutdown can cancel what outlives it."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- serving -------------------------------------------------------------------------

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        if self._stopping:
            self._stop_requested.set()
        accepting = await self._accept_connections(loop)
        sweeper = loop.create_task(self._sweep())
        with _signals_wake(loop):
            try:
                await self._stop_requested.wait()
            finally:
                accepting.close()
                await self._drain(accepting)
                sweeper.cancel()
                await self.lifespan.shutdown(self.config.shutdown_timeout or CANCEL_GRACE)

    async def _accept_connections(self, loop: asyncio.AbstractEventLoop) -> Accepting:
        """Start accepting (HTTPS: each connection sorted by its first byte)."""
        if self.tls is not None:
            from .tlsaccept import TLSAcceptor

            acceptor = TLSAcceptor(self, self.tls, self.listener)
            acceptor.start()
            return acceptor
        server = await loop.create_server(
            lambda: ConnectionProtocol(self), sock=self.listener, backlog=BACKLOG, start_serving=True
        )
        return _ServerAccepting(server)

    def cut_in_flight(self, *, open_ended_only: bool = False) -> None:
        """Cut the responses under way (only streams with nothing left to finish, if asked),
        each logged once as cut. Also what a forced exit calls, from the signal handler."""
        self._cut(open_ended_only=open_ended_only)

    def _cut(self, *, open_ended_only: bool) -> None:
        for connection in list(self.connections):
            cycle = connection.cycle
            if cycle is not None and (cycle.open_ended or not open_ended_only) and cycle.cut():
                connection.abort()

    def _request_stop(self) -> None:
        self._stopping = True
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            for connection in [c for c in self.connections if c.deadline <= now]:
                connection.expire(now)

    async def _drain(self, accepting: Accepting) -> None:
        """Let requests in flight finish (until the deadline), then cut what is left.

        A connection accepted before the stop may still be in its TLS handshake: it is waited
        for too, and settled like the others once it connects (its request is served)."""
        wake = self._drain_wake = asyncio.Event()
        for connection in list(self.connections):
            self.settle(connection)
        deadline = time.monotonic() + self.config.shutdown_timeout
        while (remaining := deadline - time.monotonic()) > 0 and (self.connections or accepting.pending):
            self._cut(open_ended_only=True)  # again and again: a view may return a stream meanwhile
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(remaining, CUT_INTERVAL))
        accepting.abandon()
        self.cut_in_flight()
        for connection in list(self.connections):
            connection.abort()
        if self.tasks:  # cut applications see the disconnect; give them a moment, then cancel
            _, pending = await asyncio.wait(set(self.tasks), timeout=CANCEL_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=CANCEL_GRACE)
                self.cut_work = True


@contextlib.contextmanager
def _signals_wake(loop: asyncio.AbstractEventLoop) -> Any:
    """Wake the loop when a signal arrives, so its Python handler runs at once.

    A signal delivered to another thread (Django runs sync code in threads) only sets a flag;
    the main thread runs the handler when it next runs Python, which a loop idle in
    ``epoll_wait`` would not do for a while.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)

    def drain() -> None:
        with contextlib.suppress(OSError):
            while reader.recv(4096):
                pass

    loop.add_reader(reader.fileno(), drain)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()
