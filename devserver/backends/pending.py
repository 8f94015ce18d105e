"""A connection as the single backend's loop sees it: what has been parsed, what waits."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ..http.connection import HTTPConnection
from ..http.errors import HTTPError
from ..http.parser import Request
from ..wsgi.gateway import Transport
from ..wsgi.input import BodySpool
from .transport import SocketTransport

#: What a connection's every request gets instead of an answer (a 503 past MAX_CONNECTIONS, a
#: 400 for plain HTTP on the HTTPS port).
Refusal = Callable[[Request], HTTPError]


class PendingConnection:
    """A connection as the loop sees it: bytes parsed so far and the request being received."""

    __slots__ = (
        "blocking",
        "body",
        "client",
        "deadline",
        "fresh",
        "http",
        "lingering",
        "queued",
        "received",
        "refusal",
        "request",
        "sock",
        "transport",
    )

    def __init__(
        self,
        sock: socket.socket,
        client: tuple[str, int],
        deadline: float,
        *,
        send_timeout: float,
        refusal: Refusal | None = None,
        blocking: bool = False,
        transport: Transport | None = None,
    ) -> None:
        self.sock = sock
        #: Its mode needs no switch around a response: a blocking socket whose sends the kernel
        #: bounds (SO_SNDTIMEO), read with DONT_WAIT; or a TLS one, whose transport waits itself.
        self.blocking = blocking
        #: Set: its first request is refused with this (then it closes).
        self.refusal = refusal
        #: Answered with an error and half-closed: input is drained until EOF or the deadline.
        self.lingering = False
        #: A complete request waits its turn: the socket is not read until it has been answered.
        self.queued = False
        #: No request received yet: shutdown waits a moment for the first one (FIRST_REQUEST_GRACE).
        self.fresh = True
        self.client = client
        #: The bytes of a request head that began on an idle connection, while it is incomplete
        #: (None: no head under way, or it began behind a pipelined request): what a restart
        #: hands over with the connection.
        self.received: bytes | None = None
        self.http = HTTPConnection()
        self.transport: Transport = transport or SocketTransport(sock, send_timeout)
        self.request: Request | None = None
        self.body: BodySpool | None = None
        self.deadline = deadline

    def discard_request(self) -> None:
        if self.body is not None:
            self.body.close()
        self.request = None
        self.body = None
