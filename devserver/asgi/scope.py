"""ASGI connection scopes, built from a parsed request head.

What never changes on one server (its address, the ASGI versions) is prepared once; per
request only the request's own keys are filled in, and header names are lowercased once per
distinct spelling (clients send the same names request after request).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import unquote_to_bytes

from ..http.parser import Request
from .types import ASGI_VERSION, HTTP_SPEC_VERSION, WEBSOCKET_SPEC_VERSION, Scope

#: How many distinct header-name spellings one builder remembers the lowercase form of.
MEMORY_SIZE: Final = 1024


class ScopeBuilder:
    """Builds ``http`` and ``websocket`` scopes for one server.

    Header names containing ``_`` are dropped, as runserver and daphne do (and as the WSGI
    gateway does), so ``X_Forwarded_For`` cannot pose as ``X-Forwarded-For``: Django maps both
    to the same ``META`` key.
    """

    __slots__ = ("_http_scheme", "_names", "_websocket_scheme", "root_path", "server", "state")

    def __init__(
        self,
        server: tuple[str, int],
        *,
        root_path: str = "",
        state: dict[str, Any] | None = None,
        secure: bool = False,
    ) -> None:
        self.server = server
        self.root_path = root_path
        #: ``secure``: the connections are TLS (``--cert-file``): https and wss.
        self._http_scheme = "https" if secure else "http"
        self._websocket_scheme = "wss" if secure else "ws"
        #: The lifespan namespace; each scope gets a shallow copy of it.
        self.state: dict[str, Any] = {} if state is None else state
        #: Header name as received → lowercased ("" for names dropped).
        self._names: dict[bytes, bytes] = {}

    def http(self, request: Request, client: tuple[str, int]) -> Scope:
        raw_path = request.path
        return {
            "type": "http",
            "asgi": {"version": ASGI_VERSION, "spec_version": HTTP_SPEC_VERSION},
            "http_version": request.http_version,
            "method": request.method,
            "scheme": self._http_scheme,
            "path": decode_path(raw_path),
            "raw_path": raw_path,
            "query_string": request.query,
            "root_path": self.root_path,
            "headers": self.headers(request.headers),
            "client": client,
            "server": self.server,
            "state": self.state.copy(),
        }

    def websocket(self, request: Request, client: tuple[str, int], subprotocols: list[str]) -> Scope:
        raw_path = request.path
        return {
            "type": "websocket",
            "asgi": {"version": ASGI_VERSION, "spec_version": WEBSOCKET_SPEC_VERSION},
            "http_version": request.http_version,
            "scheme": self._websocket_scheme,
            "path": decode_path(raw_path),
            "raw_path": raw_path,
            "query_string": request.query,
            "root_path": self.root_path,
            "headers": self.headers(request.headers),
            "client": client,
            "server": self.server,
            "subprotocols": subprotocols,
            "state": self.state.copy(),
        }

    def headers(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = self._names
        headers = []
        for name, value in raw:
            lowered = names.get(name)
            if lowered is None:
                lowered = self._lowered(name)
            if lowered:
                headers.append((lowered, value))
        return headers

    def _lowered(self, name: bytes) -> bytes:
        lowered = b"" if b"_" in name else name.lower()
        if len(self._names) < MEMORY_SIZE:
            self._names[name] = lowered
        return lowered


def decode_path(raw_path: bytes) -> str:
    """The path with percent-escapes and UTF-8 decoded, as ASGI's ``path`` wants it.

    Bytes that are not UTF-8 become U+FFFD, as with uvicorn (never an error: a client can send
    any bytes, and ``raw_path`` keeps them as they came).
    """
    if b"%" in raw_path:
        raw_path = unquote_to_bytes(raw_path)
    return raw_path.decode("utf-8", "replace")
