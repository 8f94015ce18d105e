"""Checks on an ASGI ``http.response.start`` message, before any byte of it is sent.

An application sends the same header lines response after response, so each line that
passed is remembered (up to :data:`MEMORY_SIZE`) and then only looked up, as the WSGI
gateway's :class:`~devserver.wsgi.headers.StartValidator` does for its ``str`` headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_BYTE: Final = re.compile(rb"[\x00\r\n]")
#: The server frames the body and manages the connection; these are its to write.
_SERVER_OWNED: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
_NOTICED: Final = frozenset({b"content-length", b"date", b"server"}) | _SERVER_OWNED
MEMORY_SIZE: Final = 4096


class InvalidMessageError(Exception):
    """The application sent a message the ASGI spec does not allow (here or in the cycle)."""


class ResponseStart(NamedTuple):
    """A validated ``http.response.start``: the status and the header lines, ready for the wire."""

    status: int
    header_lines: bytes
    content_length: int | None
    wants_close: bool
    has_date: bool
    has_server: bool


class StartChecker:
    """Validates ``http.response.start`` messages for one server, remembering good header lines."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        #: (name, value) → its wire form, for lines that passed every check and need no handling.
        self._lines: dict[tuple[bytes, bytes], bytes] = {}

    def check(self, message: Mapping[str, Any]) -> ResponseStart:
        status = message.get("status")
        if type(status) is not int or not 100 <= status <= 599:
            raise InvalidMessageError(f"Invalid status {status!r} in 'http.response.start'")
        if message.get("trailers"):
            raise InvalidMessageError("Response trailers are not supported by this server")
        lines = self._lines
        wire: list[bytes] = []
        content_length: int | None = None
        wants_close = has_date = has_server = False
        for header in message.get("headers", ()):
            try:
                name, value = header
            except (TypeError, ValueError):
                raise InvalidMessageError(f"Invalid header {header!r}: not a (name, value) pair") from None
            key = (name, value)
            try:
                line = lines.get(key)
            except TypeError:  # unhashable: a list, say; the type checks below say what is wrong
                line = None
            if line is not None:
                wire.append(line)
                continue
            lowered = _checked_name(name)
            _check_value(name, value)
            if lowered not in _NOTICED:
                line = b"%s: %s\r\n" % (name, value)
                if type(name) is bytes and type(value) is bytes and len(lines) < MEMORY_SIZE:
                    lines[key] = line
                wire.append(line)
            elif lowered == b"content-length":
                if not value.strip().isdigit():
                    raise InvalidMessageError(f"Invalid Content-Length {value!r}")
                if content_length is not None and int(value) != content_length:
                    raise InvalidMessageError("Two different Content-Length headers")
                content_length = int(value)
            elif lowered == b"connection":
                wants_close = wants_close or b"close" in value.lower()
            elif lowered not in _SERVER_OWNED:
                has_date = has_date or lowered == b"date"
                has_server = has_server or lowered == b"server"
                wire.append(b"%s: %s\r\n" % (name, value))
        return ResponseStart(status, b"".join(wire), content_length, wants_close, has_date, has_server)


def _checked_name(name: Any) -> bytes:
    if not isinstance(name, bytes) or not _TOKEN.fullmatch(name):
        raise InvalidMessageError(f"Invalid header name {name!r}: it must be a token, as bytes")
    return name.lower()


def _check_value(name: bytes, value: Any) -> None:
    if not isinstance(value, bytes) or _BAD_VALUE_BYTE.search(value):
        raise InvalidMessageError(f"Invalid value for header {name!r}: {value!r}")
