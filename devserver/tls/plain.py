"""Plain HTTP on the HTTPS port: an answer that says which URL works, instead of a hang.

A request typed as ``http://localhost:8000/`` while devrun serves HTTPS would otherwise meet a
TLS server waiting for a handshake (the browser waits, then shows an empty response). The
backends read the request as plain HTTP and answer it with :class:`PlainHTTPOnTLSPort`: a 400
naming the same URL with ``https``. Nothing here touches a socket, so any backend can use it
(the asyncio one included).
"""

from __future__ import annotations

import re
from typing import Final

from ..http.errors import BadRequest
from ..http.parser import Request

#: The first byte of a TLS record: its content type (change_cipher_spec, alert, handshake,
#: application_data). A client's first record is a handshake (22); an HTTP request starts with
#: a method's letter.
TLS_RECORD_TYPES: Final = frozenset({20, 21, 22, 23})
#: What a Host header may be for the answer to repeat it: a name or address, and a port.
_HOST: Final = re.compile(rb"^(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?$")
_WILDCARDS: Final = {"0.0.0.0": "127.0.0.1", "::": "::1"}


class PlainHTTPOnTLSPort(BadRequest):
    """A plain-HTTP request on the port that serves HTTPS; ``url`` is the one to use instead."""

    def __init__(self, url: str) -> None:
        super().__init__(f"This server speaks HTTPS; you sent plain HTTP. Use {url}")
        self.url = url


def is_tls_record(first: bytes) -> bool:
    """Whether the first byte a client sent starts a TLS record: the connection is then TLS's to
    judge (an alert first, from a client that gave up before its hello, fails the handshake)."""
    return len(first) == 1 and first[0] in TLS_RECORD_TYPES


def https_url(host: bytes | None, target: bytes, listening: tuple[str, int]) -> str:
    """The ``https://`` URL for a request with this Host header and target, on the socket
    listening at ``listening``: the Host's name and port when usable (without a port, the
    client reached this port all the same), else the listening address (a wildcard as loopback)."""
    name = _WILDCARDS.get(listening[0], listening[0])
    name, port = (f"[{name}]" if ":" in name else name), listening[1]
    match = _HOST.match(host) if host is not None else None
    if match is not None:
        name = match["name"].decode("ascii")
        port = int(match["port"]) if match["port"] else port
    netloc = name if port == 443 else f"{name}:{port}"
    path = target if target.startswith(b"/") else b"/"
    return f"https://{netloc}{path.decode('latin-1')}"


def plain_http_refusal(request: Request, listening: tuple[str, int]) -> PlainHTTPOnTLSPort:
    """The 400 for a plain-HTTP request on the HTTPS port, naming the URL to use instead."""
    host = next((value for name, value in request.headers if name.lower() == b"host"), None)
    return PlainHTTPOnTLSPort(https_url(host, request.target, listening))


def refusal_for_head(head: bytes, listening: tuple[str, int]) -> PlainHTTPOnTLSPort:
    """The same answer from a raw request head (for a server that reads heads without a parser)."""
    request_line, _, fields = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    target = parts[1] if len(parts) == 3 else b"/"
    host = next(
        (
            value.strip()
            for name, _, value in (line.partition(b":") for line in fields.split(b"\r\n"))
            if name.strip().lower() == b"host"
        ),
        None,
    )
    return PlainHTTPOnTLSPort(https_url(host, target, listening))
