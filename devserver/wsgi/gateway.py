"""Runs a WSGI application for one request and writes its response through a transport.

Backends differ only in how they schedule connections; every one of them calls
:meth:`WSGIGateway.run`, so the PEP 3333 rules live here once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import TracebackType
from typing import IO, Any, NamedTuple, Protocol

from ..http.parser import Request
from ..http.response import ResponseFramer, error_response
from .environ import Environ, EnvironBuilder
from .filewrapper import FileWrapper
from .headers import InvalidResponseError, ResponseStart, StartValidator
from .input import RequestBody

logger = logging.getLogger("django.server")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApplication = Callable[[Environ, StartResponse], Iterable[bytes]]


class ClientDisconnected(ConnectionError):
    """The client went away while we were reading from or writing to it."""


class Transport(Protocol):
    """Where the response bytes go; backends provide it."""

    def send(self, data: bytes, *, more: bool = False) -> None:
        """Send all of ``data`` (``more``: further bytes follow at once). Raises ClientDisconnected."""

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        """Send ``count`` bytes of ``file`` from ``offset``, by ``os.sendfile`` where possible."""


class ResponseSummary(NamedTuple):
    """What the access log and the connection need to know once a response is over."""

    status: int
    body_bytes: int
    keep_alive: bool


class WSGIGateway:
    """The application, the environ keys that never change between its requests, and what
    earlier requests taught (environ keys of header names, response headers already checked).
    """

    def __init__(self, application: WSGIApplication, base_environ: Environ) -> None:
        self.application = application
        self.base_environ = base_environ
        self._environ = EnvironBuilder(base_environ)
        self._validator = StartValidator()

    def run(
        self,
        request: Request,
        body: RequestBody,
        transport: Transport,
        client: tuple[str, int],
        *,
        keep_alive: bool,
        content_length: int | None = None,
    ) -> ResponseSummary:
        writer = self.writer(request, body, transport, keep_alive=keep_alive)
        self.respond(writer, request, body, client, content_length)
        return writer.summary()

    def writer(self, request: Request, body: RequestBody, transport: Transport, *, keep_alive: bool) -> ResponseWriter:
        """The response to ``request``, before the application runs: a backend can keep it at
        hand (to cut it on shutdown) while :meth:`respond` runs."""
        return ResponseWriter(request, transport, keep_alive=keep_alive, body=body, validator=self._validator)

    def respond(
        self,
        writer: ResponseWriter,
        request: Request,
        body: RequestBody,
        client: tuple[str, int],
        content_length: int | None = None,
    ) -> None:
        writer.run(self.application, self._environ.build(request, client, body, content_length))


class ResponseWriter:
    """One response: ``start_response``, ``write`` and the iteration of the result.

    Another thread may read how far it got (:attr:`head_sent`, :attr:`body_bytes`,
    :attr:`open_ended`) to cut it and log it as cut.
    """

    __slots__ = (
        "_body",
        "_framer",
        "_length_hint",
        "_request",
        "_result",
        "_start",
        "_transport",
        "_validator",
        "body_bytes",
        "head_sent",
        "returned",
        "started",
        "status",
    )

    def __init__(
        self,
        request: Request,
        transport: Transport,
        *,
        keep_alive: bool,
        validator: StartValidator,
        body: RequestBody | None = None,
    ) -> None:
        self._request = request
        self._validator = validator
        self._body = body
        self._transport = transport
        self._framer = ResponseFramer(method=request.method, http_version=request.http_version, keep_alive=keep_alive)
        self._start: ResponseStart | None = None
        self._length_hint: int | None = None
        self._result: Iterable[bytes] | None = None
        #: ``time.perf_counter()`` when the request was handed to this writer.
        self.started = time.perf_counter()
        #: Whether the application has returned its iterable (the view is done).
        self.returned = False
        self.head_sent = False
        self.status = 500
        self.body_bytes = 0

    # -- the WSGI callables ------------------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._start is not None:
            raise InvalidResponseError("start_response() called a second time without exc_info")
        self._start = self._validator.validate(status, headers)
        if self._start.wants_close:
            self._framer.keep_alive = False
        return self.write

    def write(self, data: bytes) -> None:
        if self._start is None:
            raise InvalidResponseError("write() called before start_response()")
        self._send_body(data)

    # -- driving the application -------------------------------------------------------

    def run(self, application: WSGIApplication, environ: Environ) -> None:
        result: Iterable[bytes] | None = None
        try:
            result = self._result = application(environ, self.start_response)
            self.returned = True
            if isinstance(result, (list, tuple)) and len(result) == 1 and isinstance(result[0], bytes):
                self._length_hint = len(result[0])
            if not (isinstance(result, FileWrapper) and self._send_file(result)):
                for chunk in result:
                    self._send_body(chunk)
                self._finish()
        except ClientDisconnected:
            self._framer.keep_alive = False
        except InvalidResponseError as error:
            logger.error("%s (%s)", error, self._request.request_line)
            self._fail()
        except Exception:
            logger.exception("Error handling request %s", self._request.request_line)
            self._fail()
        finally:
            close: Any = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("Error closing the response of %s", self._request.request_line)

    def summary(self) -> ResponseSummary:
        return ResponseSummary(self.status, self.body_bytes, self._framer.keep_alive)

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can carry another request once this response is over."""
        return self._framer.keep_alive

    @property
    def request_line(self) -> str:
        return self._request.request_line

    @property
    def open_ended(self) -> bool:
        """Nothing is left to finish: the application has returned, and what remains is a stream
        of unknown length (no Content-Length; not a list, not a Django response that is
        ``streaming = False``), such as server-sent events. A shutdown cuts it at once, where a
        view still running, or a body of known length, keeps its grace period."""
        if not self.returned:
            return False
        result = self._result
        if isinstance(result, (list, tuple)) or getattr(result, "streaming", True) is False:
            return False
        return self._start is None or self._start.content_length is None

    # -- helpers -----------------------------------------------------------------------

    def _head(self, content_length: int | None) -> bytes:
        start = self._start
        if start is None:
            raise InvalidResponseError("The application returned without calling start_response()")
        if self._body is not None and self._body.awaiting_continue:
            self._framer.keep_alive = False  # the client may still send the body it was never invited to
        self.head_sent = True
        self.status = start.status_code
        return self._framer.head(
            start.status,
            start.headers,
            start.content_length if start.content_length is not None else content_length,
            add_date=not start.has_date,
            add_server=not start.has_server,
            length_in_headers=start.content_length is not None,
        )

    def _send_body(self, data: bytes) -> None:
        if type(data) is not bytes:
            raise InvalidResponseError(f"The application yielded {type(data).__name__}, not bytes")
        if not data:
            return  # PEP 3333: the head waits for the first non-empty piece
        declared = self._start.content_length if self._start else None
        if declared is not None:
            room = declared - self.body_bytes
            if len(data) > room:
                data = data[:room]  # never send more than the application promised
                self._framer.keep_alive = False
        if self.head_sent:
            self._transport.send(self._framer.body(data))
        else:
            head = self._head(self._length_hint)
            self._transport.send(head + self._framer.body(data))
        if self._framer.sends_body:
            self.body_bytes += len(data)

    def _finish(self) -> None:
        if not self.head_sent:
            self._transport.send(self._head(0) + self._framer.end())
        elif tail := self._framer.end():
            self._transport.send(tail)
        declared = self._start.content_length if self._start else None
        if declared is not None and self.body_bytes < declared and self._framer.sends_body:
            self._framer.keep_alive = False  # the client is still waiting for bytes that never come

    def _send_file(self, wrapper: FileWrapper) -> bool:
        """Send a real file with ``sendfile``; False to fall back to iterating it."""
        start = self._start
        if start is None or start.content_length is None:
            return False
        try:
            descriptor = wrapper.filelike.fileno()
            offset = wrapper.filelike.tell()
            status = os.fstat(descriptor)
            size, regular = status.st_size, stat.S_ISREG(status.st_mode)
        except (AttributeError, OSError, ValueError):
            return False
        count = start.content_length
        if not regular or size - offset < count:
            return False
        head = self._head(count)
        if not self._framer.sends_body or count == 0:
            self._transport.send(head)
            return True
        self._transport.send(head, more=True)
        self.body_bytes = self._transport.sendfile(wrapper.filelike, offset, count)
        if self.body_bytes < count:
            self._framer.keep_alive = False
        return True

    def _fail(self) -> None:
        """After an application error: a 500 if nothing was sent yet, else cut the connection."""
        self._framer.keep_alive = False
        if self.head_sent:
            return
        self.status = 500
        self.head_sent = True
        with contextlib.suppress(ClientDisconnected):
            self._transport.send(error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "See the server log."))
