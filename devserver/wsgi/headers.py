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


#: Headers already validated that need no special handling, mapped to their lowercased name.
_ORDINARY_HEADERS: dict[tuple[str, str], str] = {}
_CACHE_SIZE: Final = 4096


class InvalidResponseError(Exception):
    """The application broke PEP 3333 (or HTTP) in its status or headers."""


class ResponseStart(NamedTuple):
    """A validated ``start_response`` call."""

    status: str
    headers: list[tuple[str, str]]
    content_length: int | None
    wants_close: bool
    has_date: bool
    has_server: bool

    @property
    def status_code(self) -> int:
        return int(self.status[:3])


def validate_start(status: Any, headers: Any) -> ResponseStart:
    """Return the response start, or raise :class:`InvalidResponseError` naming the problem."""
    if type(status) is not str or not _STATUS.fullmatch(status) or not _latin1(status):
        raise InvalidResponseError(f"Invalid status {status!r} from application")
    if type(headers) is not list:
        raise InvalidResponseError(f"Headers must be a list, not {type(headers).__name__}")
    kept: list[tuple[str, str]] = []
    content_length: int | None = None
    wants_close = has_date = has_server = False
    for header in headers:
        if type(header) is not tuple or len(header) != 2:
            raise InvalidResponseError(f"Invalid header {header!r} from application")
        lowered = _ORDINARY_HEADERS.get(header)
        if lowered is not None:  # seen and validated before: most headers repeat request after request
            kept.append(header)
            continue
        lowered = _check_header(header)
        name, value = header
        if lowered == "content-length":
            if not (value.isascii() and value.strip().isdigit()):
                raise InvalidResponseError(f"Invalid Content-Length {value!r} from application")
            content_length = int(value)
        elif lowered == "connection":
            wants_close = "close" in value.lower()
            continue  # the server owns connection management
        elif lowered in _HOP_BY_HOP:
            raise InvalidResponseError(f"Hop-by-hop header {name!r} is not allowed from a WSGI application")
        elif lowered == "date":
            has_date = True
        elif lowered == "server":
            has_server = True
        elif len(_ORDINARY_HEADERS) < _CACHE_SIZE:
            _ORDINARY_HEADERS[header] = lowered
        kept.append(header)
    return ResponseStart(status, kept, content_length, wants_close, has_date, has_server)


def _check_header(header: tuple[Any, Any]) -> str:
    """Validate one header; return its lowercased name."""
    name, value = header
    if type(name) is not str or type(value) is not str or not _TOKEN.fullmatch(name):
        raise InvalidResponseError(f"Invalid header {header!r} from application")
    if _BAD_VALUE_CHAR.search(value) or not _latin1(value):
        raise InvalidResponseError(f"Invalid value for header {name!r} from application: {value!r}")
    return name.lower()


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
