"""Response framing without I/O: the head as one bytes object, the body framed by
Content-Length, chunked coding, or connection close.
"""

from __future__ import annotations

import functools
from enum import Enum
from http import HTTPStatus
from typing import Final

from .. import __version__
from ..clock import PerSecond, http_date

SERVER_HEADER: Final = f"devserver/{__version__}"
LAST_CHUNK: Final = b"0\r\n\r\n"
_NO_BODY_STATUSES: Final = frozenset({204, 304})


DATE: Final = PerSecond(http_date)


class Framing(Enum):
    CONTENT_LENGTH = "content-length"
    CHUNKED = "chunked"
    CLOSE = "close"
    NO_BODY = "no-body"


# Looking a member up on an Enum class costs ten times a global's lookup; these run per request.
_CONTENT_LENGTH: Final = Framing.CONTENT_LENGTH
_CHUNKED: Final = Framing.CHUNKED
_CLOSE: Final = Framing.CLOSE
_NO_BODY: Final = Framing.NO_BODY


class ResponseFramer:
    """Decides how one response is delimited and encodes its head and body."""

    __slots__ = ("_chunked", "_head_only", "_http11", "framing", "keep_alive", "sends_body")

    def __init__(self, *, method: str, http_version: str, keep_alive: bool) -> None:
        self._http11 = http_version == "1.1"
        self._head_only = method == "HEAD"
        self.keep_alive = keep_alive
        self.framing = _CLOSE
        #: Whether body bytes go on the wire (not for HEAD, 1xx, 204, 304); set by :meth:`head`.
        self.sends_body = not self._head_only
        self._chunked = False

    def head(
        self,
        status: str,
        headers: list[tuple[str, str]],
        content_length: int | None,
        *,
        add_date: bool = True,
        add_server: bool = True,
        length_in_headers: bool = False,
    ) -> bytes:
        """Return the status line and headers; ``content_length`` is the known body size, if any.

        ``headers`` are the application's, already validated and without hop-by-hop fields;
        a ``Content-Length`` among them is the caller's to pass as ``content_length`` too, with
        ``length_in_headers`` (validation already found it; no need to scan for it again).
        """
        lines = [f"{name}: {value}\r\n" for name, value in headers]
        lines.insert(0, f"HTTP/{'1.1' if self._http11 else '1.0'} {status}\r\n")
        self._frame(
            lines,
            int(status[:3]),
            content_length,
            add_date=add_date,
            add_server=add_server,
            length_in_headers=length_in_headers,
        )
        return "".join(lines).encode("latin-1")

    def raw_head(
        self,
        code: int,
        header_lines: bytes,
        content_length: int | None,
        *,
        add_date: bool = True,
        add_server: bool = True,
        length_in_headers: bool = False,
    ) -> bytes:
        """:meth:`head` for a gateway that holds bytes (ASGI): ``header_lines`` are validated header
        lines, each ending in CRLF; the status line and the framing headers are added here.
        """
        lines: list[str] = []
        self._frame(
            lines,
            code,
            content_length,
            add_date=add_date,
            add_server=add_server,
            length_in_headers=length_in_headers,
        )
        return status_line(code, self._http11) + header_lines + "".join(lines).encode("latin-1")

    def _frame(
        self,
        lines: list[str],
        code: int,
        content_length: int | None,
        *,
        add_date: bool,
        add_server: bool,
        length_in_headers: bool,
    ) -> None:
        """Decide the framing; append the headers it needs, then ``Date``, ``Server`` and the blank line."""
        if code < 200 or code in _NO_BODY_STATUSES:
            self.framing = _NO_BODY
            self.sends_body = False
        elif content_length is not None:
            self.framing = _CONTENT_LENGTH
            if not length_in_headers:
                lines.append(f"Content-Length: {content_length}\r\n")
        elif self._http11:
            self.framing = _CHUNKED
            self._chunked = self.sends_body
            lines.append("Transfer-Encoding: chunked\r\n")
        else:
            self.framing = _CLOSE
            self.keep_alive = False
        if self.keep_alive:
            if not self._http11:
                lines.append("Connection: keep-alive\r\n")
        else:
            lines.append("Connection: close\r\n")
        if add_date:
            lines.append(f"Date: {DATE.value()}\r\n")
        if add_server:
            lines.append(f"Server: {SERVER_HEADER}\r\n")
        lines.append("\r\n")

    def body(self, data: bytes) -> bytes:
        """Frame one piece of the body for the wire (``b""`` when nothing is to be sent)."""
        if not data or not self.sends_body:
            return b""
        if self._chunked:
            return b"%x\r\n%b\r\n" % (len(data), data)
        return data

    def end(self) -> bytes:
        return LAST_CHUNK if self._chunked else b""


@functools.lru_cache(maxsize=1024)
def status_line(code: int, http11: bool = True) -> bytes:
    """The status line, CRLF included, for a status code (an unknown code gets an empty reason phrase)."""
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = ""
    return f"HTTP/{'1.1' if http11 else '1.0'} {code} {reason}\r\n".encode("latin-1")


def error_response(status: HTTPStatus, detail: str) -> bytes:
    """A complete plain-text response for a request the server refuses; it always closes."""
    body = f"{status.value} {status.phrase}\n\n{detail}\n".encode("latin-1", "replace")
    return (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        f"Date: {DATE.value()}\r\nServer: {SERVER_HEADER}\r\n\r\n"
    ).encode("latin-1") + body
