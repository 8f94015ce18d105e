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
_HOST: Final = re.compile(rb"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$")


class PlainHTTPOnTLSPort(BadRequest):
    """A plain-HTTP request on the port that serves HTTPS; ``url`` is the one to use instead."""

    def __init__(self, url: str) -> None:
        super().__init__(f"This server speaks HTTPS; you sent plain HTTP. Use {url}")
        self.url = url


def is_tls_record(first: bytes) -> bool:
    """Whether the first byte a client sent starts a TLS record: the connection is then TLS's to
    judge (an alert first, from a client that gave up before its hello, fails the handshake)."""
    return len(first) == 1 and first[0] in TLS_RECORD_TYPES


def https_url(host: bytes | None, target: bytes, fallback_host: str) -> str:
    """The ``https://`` URL for a request with this Host header and target; ``fallback_host``
    (``host:port`` of the listening socket) when the header is missing or unusable."""
    shown = host.decode("ascii") if host is not None and _HOST.match(host) else fallback_host
    path = target if target.startswith(b"/") else b"/"
    return f"https://{shown}{path.decode('latin-1')}"


def plain_http_refusal(request: Request, fallback_host: str) -> PlainHTTPOnTLSPort:
    """The 400 for a plain-HTTP request on the HTTPS port, naming the URL to use instead."""
    host = next((value for name, value in request.headers if name.lower() == b"host"), None)
    return PlainHTTPOnTLSPort(https_url(host, request.target, fallback_host))


def refusal_for_head(head: bytes, fallback_host: str) -> PlainHTTPOnTLSPort:
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
    return PlainHTTPOnTLSPort(https_url(host, target, fallback_host))


def fallback_host(address: tuple[str, int]) -> str:
    """``host:port`` of the listening socket as a local browser reaches it (a wildcard becomes loopback)."""
    host, port = address[0], address[1]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
