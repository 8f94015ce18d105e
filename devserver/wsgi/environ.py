"""The WSGI ``environ``: a base prepared once per server, copied and completed per request."""

from __future__ import annotations

import sys
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from ..http.parser import Request
from ..http.response import SERVER_HEADER
from .filewrapper import FileWrapper

Environ = dict[str, Any]

_SPECIAL_HEADERS: Final = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}


#: How many distinct header names an :class:`EnvironBuilder` remembers the environ key of.
MEMORY_SIZE: Final = 1024


def base_environ(*, server_name: str, server_port: int, multithread: bool, url_scheme: str = "http") -> Environ:
    """The keys that never change between requests on one server.

    Over TLS, ``wsgi.url_scheme`` is ``https`` (Django's ``request.is_secure()`` reads it) and
    ``HTTPS`` is ``on``, as CGI servers say it.
    """
    environ: Environ = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": SERVER_HEADER,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    if url_scheme == "https":
        environ["HTTPS"] = "on"
    return environ


class EnvironBuilder:
    """Completes a copy of the server's base environ for each request.

    Header names containing ``_`` are dropped, as runserver does, so ``X_Forwarded`` cannot
    spoof ``X-Forwarded`` (both map to the same key). Repeated headers are comma-joined
    (cookies with ``; ``, as RFC 6265 asks). Clients send the same header names request after
    request, so each name's key is worked out once (up to :data:`MEMORY_SIZE` names).
    """

    __slots__ = ("_base", "_keys")

    def __init__(self, base: Environ) -> None:
        self._base = base
        #: Header name as received → environ key ("" for names dropped).
        self._keys: dict[bytes, str] = {}

    def build(self, request: Request, client: tuple[str, int], body: Any, content_length: int | None) -> Environ:
        environ = self._base.copy()
        path = request.path
        environ["REQUEST_METHOD"] = request.method
        environ["PATH_INFO"] = (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1")
        environ["QUERY_STRING"] = request.query.decode("latin-1")
        environ["SERVER_PROTOCOL"] = f"HTTP/{request.http_version}"
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
        environ["wsgi.input"] = body
        keys = self._keys
        for raw_name, raw_value in request.headers:
            key = keys.get(raw_name)
            if key is None:
                key = self._key(raw_name)
            if not key:
                continue
            value = raw_value.decode("latin-1")
            if key in environ:
                separator = "; " if key == "HTTP_COOKIE" else ","
                environ[key] = f"{environ[key]}{separator}{value}"
            else:
                environ[key] = value
        if content_length is not None:
            environ["CONTENT_LENGTH"] = str(content_length)
        elif request.chunked:
            environ.pop("CONTENT_LENGTH", None)
        environ.setdefault("CONTENT_TYPE", "")
        environ.setdefault("CONTENT_LENGTH", "")
        if request.chunked:
            environ["wsgi.input_terminated"] = True
        return environ

    def _key(self, raw_name: bytes) -> str:
        if b"_" in raw_name:
            key = ""
        else:
            lowered = raw_name.lower()
            key = _SPECIAL_HEADERS.get(lowered) or "HTTP_" + lowered.decode("latin-1").upper().replace("-", "_")
        if len(self._keys) < MEMORY_SIZE:
            self._keys[raw_name] = key
        return key
