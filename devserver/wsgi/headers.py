"""Checks on what an application passes to ``start_response``, before any byte is sent."""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

_STATUS: Final = re.compile(r"[1-5]\d\d [^\x00-\x08\x0a-\x1f\x7f]*")
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_CHAR: Final = re.compile(r"[\x00\r\n]")
_HOP_BY_HOP: Final = frozenset(
    {"keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
)
#: Headers the server acts on; every other valid header is passed through as it is.
_NOTICED: Final = frozenset({"content-length", "connection", "date", "server"}) | _HOP_BY_HOP

#: How many distinct statuses, header names and header lines one validator remembers.
MEMORY_SIZE: Final = 4096


class InvalidResponseError(Exception):
    """The application broke PEP 3333 (or HTTP) in its status or headers."""


class ResponseStart(NamedTuple):
    """A validated ``start_response`` call."""

    status: str
    status_code: int
    headers: list[tuple[str, str]]
    content_length: int | None
    wants_close: bool
    has_date: bool
    has_server: bool


class StartValidator:
    """Validates ``start_response`` calls, remembering what it has accepted before.

    An application sends the same statuses and most of the same header lines request after
    request, so each is checked once (up to :data:`MEMORY_SIZE` of each kind) and then only
    looked up.
    """

    __slots__ = ("_names", "_ordinary", "_statuses")

    def __init__(self) -> None:
        self._statuses: dict[str, int] = {}
        #: Header name → its lowercased form, for names that passed the token check.
        self._names: dict[str, str] = {}
        #: Header lines (name, value) that passed every check and need no handling.
        self._ordinary: set[tuple[str, str]] = set()

    def validate(self, status: Any, headers: Any) -> ResponseStart:
        """Return the response start, or raise :class:`InvalidResponseError` naming the problem."""
        code = self._statuses.get(status) if type(status) is str else None
        if code is None:
            code = self._status_code(status)
        if type(headers) is not list:
            raise InvalidResponseError(f"Headers must be a list, not {type(headers).__name__}")
        ordinary = self._ordinary
        kept: list[tuple[str, str]] = []
        content_length: int | None = None
        wants_close = has_date = has_server = False
        for header in headers:
            # Exact types first: a str subclass may compare equal to a remembered line yet
            # format differently, and PEP 3333 (like wsgiref under runserver) wants str itself.
            if (
                type(header) is not tuple
                or len(header) != 2
                or type(header[0]) is not str
                or type(header[1]) is not str
            ):
                raise InvalidResponseError(f"Invalid header {header!r} from application")
            if header in ordinary:
                kept.append(header)
                continue
            name, value = header
            lowered = self._lowered(name)
            self._check_value(name, value)  # every value not remembered, those the server reads too
            if lowered not in _NOTICED:
                if len(ordinary) < MEMORY_SIZE:
                    ordinary.add(header)
            elif lowered == "content-length":
                if not (value.isascii() and value.strip().isdigit()):
                    raise InvalidResponseError(f"Invalid Content-Length {value!r} from application")
                content_length = int(value)
            elif lowered == "connection":
                wants_close = "close" in value.lower()
                continue  # the server owns connection management
            elif lowered in _HOP_BY_HOP:
                raise InvalidResponseError(f"Hop-by-hop header {name!r} is not allowed from a WSGI application")
            else:
                has_date = has_date or lowered == "date"
                has_server = has_server or lowered == "server"
            kept.append(header)
        return ResponseStart(status, code, kept, content_length, wants_close, has_date, has_server)

    def _status_code(self, status: Any) -> int:
        if type(status) is not str or not _STATUS.fullmatch(status) or not _latin1(status):
            raise InvalidResponseError(f"Invalid status {status!r} from application")
        code = int(status[:3])
        if len(self._statuses) < MEMORY_SIZE:
            self._statuses[status] = code
        return code

    def _lowered(self, name: str) -> str:
        lowered = self._names.get(name)
        if lowered is None:
            if not _TOKEN.fullmatch(name):
                raise InvalidResponseError(f"Invalid header name {name!r} from application")
            lowered = name.lower()
            if len(self._names) < MEMORY_SIZE:
                self._names[name] = lowered
        return lowered

    @staticmethod
    def _check_value(name: str, value: str) -> None:
        if _BAD_VALUE_CHAR.search(value) or not _latin1(value):
            raise InvalidResponseError(f"Invalid value for header {name!r} from application: {value!r}")


def _both_str(header: tuple[Any, ...]) -> bool:
    return type(header[0]) is str and type(header[1]) is str


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
