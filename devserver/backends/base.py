"""What every backend is (the :class:`Backend` protocol) and what they all share."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any, ClassVar, Final, Protocol

from ..accesslog import log_http_attempt, log_https_attempt, log_request
from ..conf import ServerConfig
from ..http.errors import HTTPError, ServiceUnavailable
from ..http.parser import Request, TLSHandshakeReceived
from ..http.response import error_response
from ..sql.accounting import query_accounting
from ..tls.plain import PlainHTTPOnTLSPort
from ..wsgi.environ import base_environ
from ..wsgi.gateway import ClientDisconnected, ResponseWriter, Transport, WSGIApplication, WSGIGateway
from ..wsgi.input import RequestBody
from .adoption import ConnectionHandover, HandedConnection
from .inflight import ResponsesInFlight

logger = logging.getLogger("django.server")

RECV_SIZE: Final = 64 * 1024
#: Connections accepted past MAX_CONNECTIONS, held only to answer 503; beyond these, closed at once.
OVERLOAD_BACKLOG: Final = 64

#: On shutdown, a connection accepted moments ago whose request has not arrived yet still gets
#: this long to send it: the client connected while we were serving, so it expects an answer
#: (this is every connection made during a reload, when the old child stops).
FIRST_REQUEST_GRACE: Final = 1.0


class Backend(Protocol):
    """A serving strategy: owns the accept loop, connections and concurrency.

    Backends are chosen by name from :data:`devserver.backends.BACKENDS`, or by the dotted
    path of any class with this shape.
    """

    name: ClassVar[str]
    multithread: ClassVar[bool]

    def __init__(self, listener: socket.socket, application: Any, config: ServerConfig) -> None:
        """``application``: WSGI or ASGI, as the class's ``interface`` says ("wsgi" when it has none)."""

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown`; return once in-flight requests are done or cut."""

    def shutdown(self, *, restart: bool = False) -> None:
        """Begin a graceful stop. Safe to call from a signal handler or another thread.

        ``restart``: the reloader stops this process for a newer one, which takes over the
        listening socket (and may take over what is worth keeping, such as idle connections).
        """


class BaseBackend:
    """Shared machinery: the gateway, the stop signal, and one request's exchange."""

    name: ClassVar[str] = "base"
    multithread: ClassVar[bool] = False
    #: Whether it wraps connections in TLS with ``--cert-file``; the command refuses HTTPS otherwise.
    serves_tls: ClassVar[bool] = False
    #: Whether idle connections may move to the next process on a restart (see :mod:`.adoption`):
    #: not TLS ones, whose session keys live only in the process that negotiated them.
    hands_over_connections: bool = True

    def __init__(self, listener: socket.socket, application: WSGIApplication, config: ServerConfig) -> None:
        self.listener = listener
        self.config = config
        host, port = listener.getsockname()[:2]
        #: With ``--cert-file``, the context connections are wrapped with; made here, in the
        #: process that serves (a reloader's child makes its own). None for plain HTTP.
        self.tls: ssl.SSLContext | None = None
        #: Where the listening socket is, for the URL a plain-HTTP request on the HTTPS port is told to use.
        self.listening = (str(host), int(port))
        if config.cert_file is not None:
            from ..tls.context import configured_context  # ssl's certificate loading: only for HTTPS

            self.tls = configured_context(config)
            self.hands_over_connections = False
        environ = base_environ(
            server_name=str(host),
            server_port=int(port),
            multithread=self.multithread,
            url_scheme="https" if self.tls is not None else "http",
        )
        self.gateway = WSGIGateway(application, environ)
        #: Each request's SQL for its access line; None when nothing is counted.
        self.queries = query_accounting(
            summary=config.sql_summary, n_plus_one=config.sql_n_plus_one, print_sql=config.print_sql
        )
        #: Readable once shutdown has begun; never drained, so every poll sees it.
        self.stop_reader, self._stop_writer = socket.socketpair()
        self.stop_reader.setblocking(False)
        self._stop_writer.setblocking(False)
        #: A plain flag, read once a request: setting it is atomic, and waiting is the stop socket's job.
        self._stopping = False
        #: Set by ``shutdown(restart=True)``: a newer process takes over once this one stops.
        self.restarting = False
        #: Set by the reloader when this backend's idle connections can outlive it (see
        #: :mod:`.adoption`); :meth:`hand_over` gives them there on a restart.
        self.handover: ConnectionHandover | None = None
        #: The responses being written: a shutdown cuts those with nothing left to finish at
        #: once, and the rest at the deadline.
        self.responses = ResponsesInFlight()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def shutdown(self, *, restart: bool = False) -> None:
        self.restarting = self.restarting or restart
        self._stopping = True
        with contextlib.suppress(OSError):  # already signalled, or already closed after serving
            self._stop_writer.send(b"x")

    @property
    def handing_over(self) -> bool:
        """Restarting, with somewhere to give idle connections to."""
        return self.restarting and self.handover is not None

    def hand_over(self, sock: socket.socket, client: tuple[str, int], received: bytes = b"") -> bool:
        """On a restart, give a connection with nothing in flight to the next process, with what
        was read of its next request head. True: it is gone from here (do not close it)."""
        handover = self.handover
        if handover is None or not self.restarting:
            return False
        return handover.give(HandedConnection(sock, client, received))

    def accept_ready(self) -> Iterator[tuple[socket.socket, tuple[str, int]]]:
        """Every connection waiting on the (non-blocking) listener, with ``TCP_NODELAY`` set."""
        while not self.stopping:
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. EMFILE: keep serving the connections we have
                logger.error("Cannot accept a connection: %s", error)
                return
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):  # macOS: EINVAL once the peer has reset
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            yield sock, (str(address[0]), int(address[1]))

    def overload_error(self) -> ServiceUnavailable:
        return ServiceUnavailable(f"Too many connections (the limit is {self.config.max_connections}).")

    def close_stop_signal(self) -> None:
        self.stop_reader.close()
        self._stop_writer.close()

    def exchange(
        self,
        request: Request,
        body: RequestBody,
        transport: Transport,
        client: tuple[str, int],
        sock: socket.socket,
        *,
        content_length: int | None = None,
    ) -> ResponseWriter:
        """Run the application for one request and log it (unless a shutdown cut it: then the
        cut was logged)."""
        gateway = self.gateway
        writer = gateway.writer(request, body, transport, keep_alive=request.keep_alive and not self._stopping)
        in_flight = self.responses.by_writer
        in_flight[writer] = sock
        queries = self.queries.begin() if self.queries is not None else None
        try:
            gateway.respond(writer, request, body, client, content_length)
        finally:
            if queries is not None:
                queries.end()
        if in_flight.pop(writer, None) is not None:
            seconds = time.perf_counter() - writer.started
            sql = queries.suffix() if queries is not None else ""
            log_request(request.request_line, writer.status, writer.body_bytes, seconds, sock, queries=sql)
        if queries is not None:
            queries.warn_repeats(request.request_line)
        return writer

    @staticmethod
    def refuse(transport: Transport, error: HTTPError, sock: socket.socket, request_line: str = "-") -> None:
        """Answer a protocol error; the caller closes the connection afterwards."""
        if isinstance(error, TLSHandshakeReceived):
            log_https_attempt(sock)
            return
        response = error_response(error.status, error.detail)
        try:
            transport.send(response)
        except ClientDisconnected:
            return
        if isinstance(error, PlainHTTPOnTLSPort):
            log_http_attempt(error.url, sock)
            return
        log_request(request_line, error.status.value, 0, 0.0, sock)
