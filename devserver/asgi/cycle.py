"""One HTTP request and its response, as an ASGI application sees them.

:class:`HTTPCycle` owns ``receive`` and ``send`` for one request and the state of its
response (uvicorn's ``RequestResponseCycle`` is the model). The connection that created it
feeds it the body as it arrives and is told when the response is over; the cycle never
touches a socket. The request body is read only as the application asks for it: the
connection stops reading once :data:`HIGH_WATER` bytes wait unread (back-pressure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Protocol

from ..accesslog import log_cut, log_request
from ..http.parser import Request
from ..http.response import Framing, ResponseFramer, error_response
from ..wsgi.gateway import ClientDisconnected
from .headers import InvalidMessageError, ResponseStart, StartChecker
from .types import ASGIApplication, Message, Scope

if TYPE_CHECKING:
    from ..sql.accounting import QueryAccounting, RequestQueries

logger = logging.getLogger("django.server")

#: Unread request body bytes past which the connection stops reading from the client.
HIGH_WATER: Final = 64 * 1024

_DISCONNECT: Final = "http.disconnect"


class CycleHost(Protocol):
    """What a cycle needs from its connection."""

    #: True while the transport's buffer is over its high-water mark: ``send`` then waits.
    write_paused: bool

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None:
        """Wait until the client takes more bytes; ClientDisconnected if it never does."""

    def want_body(self) -> None:
        """The application waits for body bytes: invite them (``100 Continue``) and read."""

    def body_taken(self) -> None:
        """The application took the buffered body: reading may resume."""

    def response_done(self, cycle: HTTPCycle) -> None:
        """The response is complete (or failed): log it and carry on with the connection."""

    def abort(self) -> None:
        """Cut the connection: a response that cannot be completed must not look complete."""


class HTTPCycle:
    """``receive`` and ``send`` for one request, and its response's state."""

    __slots__ = (
        "_accounting",
        "_checker",
        "_chunks",
        "_final_delivered",
        "_host",
        "_start",
        "_waiter",
        "body_bytes",
        "body_complete",
        "buffered",
        "disconnected",
        "framer",
        "head_sent",
        "logged",
        "queries",
        "received",
        "request",
        "response_complete",
        "scope",
        "started",
        "status",
    )

    def __init__(
        self,
        request: Request,
        scope: Scope,
        host: CycleHost,
        checker: StartChecker,
        *,
        keep_alive: bool,
        accounting: QueryAccounting | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self._accounting = accounting
        #: This request's SQL, counted while its application runs (``SQL_SUMMARY``).
        self.queries: RequestQueries | None = None
        #: Its access line is written (or its cut line): each response gets exactly one.
        self.logged = False
        self.request = request
        self.scope = scope
        self._host = host
        self._checker = checker
        self.framer = ResponseFramer(method=request.method, http_version=request.http_version, keep_alive=keep_alive)
        self._chunks: list[bytes] = []
        #: Unread body bytes held for the application.
        self.buffered = 0
        #: Body bytes received so far (read by the application or not).
        self.received = 0
        self.body_complete = not request.has_body
        self._final_delivered = False
        self._waiter: asyncio.Future[None] | None = None
        self._start: ResponseStart | None = None
        self.head_sent = False
        self.response_complete = False
        self.disconnected = False
        self.status = 500
        self.body_bytes = 0

    # -- fed by the connection ---------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """The application waits for body bytes that have not arrived."""
        return self._waiter is not None and not self.body_complete

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if not self.response_complete:  # else the connection is draining a body nobody reads
            self._chunks.append(data)
            self.buffered += len(data)
            self._wake()

    def end_body(self) -> None:
        self.body_complete = True
        self._wake()

    def disconnect(self) -> None:
        """The client went away (or the connection was cut): ``receive`` says so, ``send`` raises."""
        self.disconnected = True
        self._wake()

    # -- the ASGI callables ------------------------------------------------------------

    async def receive(self) -> Message:
        while True:
            if self.disconnected or self.response_complete:
                return {"type": _DISCONNECT}
            if self.buffered or (self.body_complete and not self._final_delivered):
                return self._take_body()
            if self.body_complete:  # all delivered: the next event is the end of the connection
                await self._wait()
                continue
            self._host.want_body()
            await self._wait()

    async def send(self, message: Message) -> None:
        if self.disconnected:
            raise ClientDisconnected("The client has gone away.")
        if type(message) is not dict and not isinstance(message, Mapping):
            raise InvalidMessageError(f"An ASGI message must be a dict, not {type(message).__name__}")
        kind = message.get("type")
        if kind == "http.response.body":
            if self._start is None:
                raise InvalidMessageError("'http.response.body' sent before 'http.response.start'")
            if self.response_complete:
                raise InvalidMessageError("'http.response.body' sent after the response was complete")
            body = message.get("body", b"")
            if type(body) is not bytes:
                if not isinstance(body, bytes | bytearray | memoryview):
                    raise InvalidMessageError(f"'body' must be bytes, not {type(body).__name__}")
                body = bytes(body)
            more = bool(message.get("more_body", False))
            self._write_body(body, more)
            if more and self._host.write_paused:
                await self._host.drain()
        elif kind == "http.response.start":
            if self._start is not None:
                raise InvalidMessageError("'http.response.start' sent twice")
            if self.response_complete:
                raise InvalidMessageError("'http.response.start' sent after the response was complete")
            self._start = self._checker.check(message)
            if self._start.wants_close:
                self.framer.keep_alive = False
        else:
            raise InvalidMessageError(f"Unexpected ASGI message type {kind!r} for an HTTP request")

    # -- driving the application -------------------------------------------------------

    @property
    def open_ended(self) -> bool:
        """The application has started a response of unknown length (a stream) that is not over:
        on a stop there is nothing left to finish, only more of the stream."""
        return self.head_sent and not self.response_complete and self.framer.framing is not Framing.CONTENT_LENGTH

    def cut(self) -> bool:
        """A shutdown cuts this response: log it as cut (once) and say so; False if it had
        already ended. The caller cuts the connection."""
        if self.response_complete or self.logged:
            return False
        self.logged = True
        status = self.status if self.head_sent else None
        log_cut(self.request.request_line, status, self.body_bytes, time.perf_counter() - self.started)
        return True

    async def run(self, application: ASGIApplication) -> None:
        accounting = self._accounting
        self.queries = accounting.begin() if accounting is not None else None  # in this task's context
        try:
            await self._run(application)
        finally:
            if self.queries is not None:
                self.queries.end()

    async def _run(self, application: ASGIApplication) -> None:
        try:
            await application(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            self._fail(None)
            raise
        except ClientDisconnected:
            if not self.disconnected:
                logger.exception("Exception in ASGI application (%s)", self.request.request_line)
            self._fail(None)
        except InvalidMessageError as error:
            self._fail(f"{error} ({self.request.request_line})")
        except Exception:
            logger.exception("Exception in ASGI application (%s)", self.request.request_line)
            self._fail(None)
        else:
            if not self.response_complete:
                what = "a response" if not self.head_sent else "the whole response"
                self._fail(f"The ASGI application returned without sending {what} ({self.request.request_line})")

    # -- helpers -----------------------------------------------------------------------

    def _take_body(self) -> Message:
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.body_complete:
            self._final_delivered = True
        self._host.body_taken()
        return {"type": "http.request", "body": body, "more_body": not self.body_complete}

    async def _wait(self) -> None:
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _write_body(self, body: bytes, more: bool) -> None:
        start = self._start
        assert start is not None
        framer = self.framer
        declared = start.content_length
        if declared is not None and len(body) > declared - self.body_bytes:
            body = body[: declared - self.body_bytes]  # never more than the application promised
            framer.keep_alive = False
        if self.head_sent:
            data = framer.body(body)
        else:
            self.head_sent = True
            self.status = start.status
            if declared is None and not more:
                declared = len(body)  # the whole body in one message: frame it by its length
            data = framer.raw_head(
                start.status,
                start.header_lines,
                declared,
                add_date=not start.has_date,
                add_server=not start.has_server,
            ) + framer.body(body)
        if framer.sends_body:
            self.body_bytes += len(body)
        if not more:
            data += framer.end()
            if start.content_length is not None and self.body_bytes < start.content_length and framer.sends_body:
                framer.keep_alive = False  # the client still waits for bytes that never come
        if data:
            self._host.write(data)
        if not more:
            self._complete()

    def _complete(self) -> None:
        self.response_complete = True
        self._wake()
        self._log()
        self._host.response_done(self)

    def _log(self) -> None:
        if self.logged:
            return
        self.logged = True
        queries = self.queries
        line = self.request.request_line
        seconds = time.perf_counter() - self.started
        log_request(line, self.status, self.body_bytes, seconds, queries=queries.suffix() if queries else "")
        if queries is not None:
            queries.warn_repeats(line)

    def _fail(self, message: str | None) -> None:
        """After an application error: a 500 if nothing was sent yet, else cut the connection."""
        if message is not None:
            logger.error("%s", message)
        if self.response_complete:
            return  # the client has its whole response; the error was the application's own affair
        self.framer.keep_alive = False
        if self.head_sent or self.disconnected:
            self.response_complete = True
            self._wake()
            self._log()
            self._host.abort()
            return
        self.head_sent = True
        self.status = 500
        self._host.write(error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "See the server log."))
        self._complete()
