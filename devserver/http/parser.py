"""Request parsing on httptools (llhttp): bytes in, request events out.

llhttp is strict and C-fast (~2 µs a request); this module adds what it leaves to its
caller: size limits, the version and transfer-coding rules, and errors that carry the
HTTP status the client should get.
"""

from __future__ import annotations

from collections import deque
from typing import Final, NamedTuple, NoReturn

import httptools

from .errors import (
    BadRequest,
    HTTPError,
    HTTPVersionNotSupported,
    NotImplementedByServer,
    RequestHeaderFieldsTooLarge,
    URITooLong,
)
from .limits import Limits

_TOKEN_CHARS: Final = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_TLS_HANDSHAKE: Final = b"\x16\x03"
#: Lengths of the header names the parser reads (Content-Length, Transfer-Encoding, Expect, Host).
_FRAMING_NAME_LENGTHS: Final = frozenset(
    {len(b"content-length"), len(b"transfer-encoding"), len(b"expect"), len(b"host")}
)


class TLSHandshakeReceived(BadRequest):
    """Someone spoke HTTPS to a plain-HTTP server; runserver logs this case specially too."""


class Request(NamedTuple):
    """A request head; its body, if any, follows as :class:`BodyChunk` events."""

    method: str
    target: bytes
    path: bytes
    query: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expects_continue: bool
    chunked: bool
    content_length: int | None
    #: Chunked, or a non-zero Content-Length.
    has_body: bool
    #: An ``Upgrade`` request (llhttp's verdict): the last request this connection carries over HTTP/1.1.
    upgrade: bool = False

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.target.decode('latin-1')} HTTP/{self.http_version}"


class BodyChunk(NamedTuple):
    data: bytes


class MessageEnd:
    """The current request's body is complete."""

    __slots__ = ()


MESSAGE_END: Final = MessageEnd()

Event = Request | BodyChunk | MessageEnd


class RequestParser:
    """Feeds bytes to llhttp and queues :data:`Event` values; raises :class:`HTTPError`."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._parser = httptools.HttpRequestParser(self)
        self._events: deque[Event] = deque()
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._in_head = False
        self._in_body = False
        self._head_bytes_fed = 0
        self._ended_in_feed = False
        self._callback_error: HTTPError | None = None
        self.upgraded = False
        #: The bytes that followed an upgrade request's head: the new protocol's, not HTTP's.
        self.upgrade_data = b""

    # -- public -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse ``data``; events become available from :meth:`next_event`."""
        if self.upgraded:
            self.upgrade_data += data  # llhttp stops after an upgrade request
            return
        self._ended_in_feed = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            error, self._callback_error = self._callback_error, None
            raise error or BadRequest("Malformed request") from None
        except httptools.HttpParserUpgrade as upgrade:
            self.upgraded = True
            self.upgrade_data = data[upgrade.args[0] :] if upgrade.args else b""
        except httptools.HttpParserInvalidMethodError:
            # after a message that ended in this feed, ``data`` does not start with the bad one
            raise self._method_error(b"" if self._ended_in_feed else data) from None
        except httptools.HttpParserError as exc:
            raise _classify(str(exc)) from None
        if self._in_head:
            if self._ended_in_feed:  # the bytes before this head belong to the previous message
                self._head_bytes_fed = len(self._url) + self._header_bytes
            else:
                self._head_bytes_fed += len(data)
            if self._head_bytes_fed > self._limits.max_request_line + self._limits.max_header_block:
                raise RequestHeaderFieldsTooLarge("Request header block too large")

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    @property
    def in_message(self) -> bool:
        """True between the first byte of a request and the end of its body."""
        return self._in_head or self._in_body

    # -- llhttp callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes_fed = 0
        self._url.clear()
        self._headers = []
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._limits.max_request_line:
            self._fail(URITooLong("Request line too long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp drops the whitespace before a value but keeps what trails it (RFC 9110 §5.5: not the value)
        self._headers.append((name, value.rstrip(b" \t")))
        self._header_bytes += len(name) + len(value) + 4
        if len(self._headers) > self._limits.max_header_fields:
            self._fail(RequestHeaderFieldsTooLarge("Too many header fields"))
        if self._header_bytes > self._limits.max_header_block:
            self._fail(RequestHeaderFieldsTooLarge("Request header block too large"))

    def on_headers_complete(self) -> None:
        self._in_head = False
        try:
            request = self._build_request()
        except HTTPError as error:
            self._fail(error)
        self._events.append(request)
        self._in_body = request.has_body

    def on_body(self, body: bytes) -> None:
        self._events.append(BodyChunk(body))

    def on_message_complete(self) -> None:
        """Ends a body; a request without one yields no MessageEnd."""
        self._ended_in_feed = True
        if self._in_body:
            self._in_body = False
            self._events.append(MESSAGE_END)

    # -- helpers --------------------------------------------------------------------

    def _fail(self, error: HTTPError) -> NoReturn:
        self._callback_error = error
        raise error

    def _build_request(self) -> Request:
        parser = self._parser
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise HTTPVersionNotSupported(f"HTTP/{version} is not supported")
        method = parser.get_method().decode("ascii")
        if method == "CONNECT":
            raise NotImplementedByServer("CONNECT is not supported")
        target = bytes(self._url)
        path, query = _split_target(target)
        content_length: int | None = None
        transfer_codings: list[bytes] = []
        expects_continue = False
        hosts = 0
        for name, value in self._headers:
            if len(name) not in _FRAMING_NAME_LENGTHS:
                continue  # most headers: not worth lowercasing
            lowered = name.lower()
            if lowered == b"host":
                hosts += 1
            elif lowered == b"content-length":
                content_length = int(value)  # llhttp has validated digits and duplicates
            elif lowered == b"transfer-encoding":
                transfer_codings.extend(c.strip().lower() for c in value.split(b","))
            elif lowered == b"expect" and value.strip().lower() == b"100-continue":
                expects_continue = version == "1.1"
        chunked = bool(transfer_codings) and _check_transfer_codings(transfer_codings)
        if hosts != 1 and (hosts or version == "1.1"):
            # RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with two, gets 400
            raise BadRequest("Missing Host header" if not hosts else "More than one Host header")
        upgrade = parser.should_upgrade()
        if upgrade and (chunked or content_length):
            # llhttp would treat the body as the new protocol's bytes: the application would
            # see an empty body. This server never switches protocols.
            raise NotImplementedByServer("An Upgrade request with a body is not supported")
        return Request(  # positional: a request is built per request, and keywords cost
            method,
            target,
            path,
            query,
            version,
            self._headers,
            # RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: close after it
            not upgrade and parser.should_keep_alive() and not (transfer_codings and version == "1.0"),
            expects_continue,
            chunked,
            content_length,
            chunked or bool(content_length),
            upgrade,
        )

    @staticmethod
    def _method_error(data: bytes) -> HTTPError:
        if data.startswith(_TLS_HANDSHAKE):
            return TLSHandshakeReceived("TLS handshake on a plain-HTTP port")
        token = data.split(b" ", 1)[0]
        if token and len(token) < 32 and all(c in _TOKEN_CHARS for c in token):
            return NotImplementedByServer(f"Unsupported method ({token.decode('ascii')!r})")
        return BadRequest("Malformed request line")


def _split_target(target: bytes) -> tuple[bytes, bytes]:
    """Origin-form (``/p?q``), absolute-form (``http://h/p?q``) or ``*``."""
    if target.startswith(b"/"):
        path, _, query = target.partition(b"#")[0].partition(b"?")
        return path, query
    if target == b"*":
        return target, b""
    if b"://" in target:
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            raise BadRequest("Malformed request target") from None
        return url.path or b"/", url.query or b""
    raise BadRequest("Malformed request target")


def _check_transfer_codings(codings: list[bytes]) -> bool:
    """Return whether the body is chunked; only ``chunked`` alone is understood."""
    unknown = [c for c in codings if c != b"chunked"]
    if unknown:
        raise NotImplementedByServer(f"Unsupported transfer coding ({unknown[0].decode('latin-1')!r})")
    if len(codings) > 1:
        raise BadRequest("chunked applied more than once")
    return True


def _classify(message: str) -> HTTPError:
    if "HTTP version" in message:
        return HTTPVersionNotSupported(message)
    return BadRequest(message)
