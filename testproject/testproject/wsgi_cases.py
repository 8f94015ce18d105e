"""Small WSGI applications that stretch or break PEP 3333, one per path, for the gateway tests.

Served instead of Django with ``TESTPROJECT_WSGI_APPLICATION=testproject.wsgi_cases.application``.
Django's handler always plays by the rules; these do not, on purpose. Whatever a test must
observe on the server side (``close()`` calls, read results) is printed as a
``wsgi_cases:`` line to stderr, which the test harness collects with the server's log.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment
from wsgiref.validate import validator

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "shop" / "files" / "sample.txt"
TEXT = ("Content-Type", "text/plain")


def report(line: str) -> None:
    print(f"wsgi_cases: {line}", file=sys.stderr, flush=True)


def plain(start_response: StartResponse, body: bytes, status: str = "200 OK") -> list[bytes]:
    start_response(status, [TEXT, ("Content-Length", str(len(body)))])
    return [body]


# -- reading the body ----------------------------------------------------------------------


def read_body(stream: Any, mode: str) -> bytes:
    """Read all of ``wsgi.input`` the way ``mode`` says (the validator allows only these forms)."""
    pieces: list[bytes] = []
    if mode == "read":
        while piece := stream.read(7):
            pieces.append(piece)
    elif mode == "readline":
        while line := stream.readline():
            pieces.append(line)
    elif mode == "readline-sized":
        while line := stream.readline(5):
            pieces.append(line)
    elif mode == "readlines":
        pieces.extend(stream.readlines())
    elif mode == "iterate":
        pieces.extend(stream)
    else:
        raise ValueError(f"unknown read mode {mode!r}")
    return b"".join(pieces)


def validated_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Everything a well-behaved application does; ``wsgiref.validate`` watches the server."""
    path = environ["PATH_INFO"]
    if path == "/validated/stream":
        start_response("200 OK", [TEXT])
        return iter([b"one ", b"two ", b"three"])
    if path == "/validated/write":
        write = start_response("200 OK", [TEXT])
        write(b"written ")
        return [b"and returned"]
    if path == "/validated/self-check":
        environ["wsgi.input"].read()  # read() without a size: the validator must object
    if path == "/validated/empty":
        start_response("204 No Content", [])
        return []
    if environ["REQUEST_METHOD"] == "POST":
        body = read_body(environ["wsgi.input"], environ["QUERY_STRING"] or "read")
        summary = f"{len(body)} {hashlib.sha256(body).hexdigest()}"
        return plain(start_response, summary.encode())
    return plain(start_response, f"{environ['REQUEST_METHOD']} {path}".encode())


validated = validator(validated_app)


def input_end(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Ask for more than the body holds, then keep reading past its end."""
    stream = environ["wsgi.input"]
    body = stream.read(1_000_000)
    after = [stream.read(10), stream.readline(), stream.read(), stream.read(-1)]
    result = {"body": body.decode("latin-1"), "after": [piece.decode("latin-1") for piece in after]}
    return plain(start_response, json.dumps(result).encode())


def input_partial(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Read two bytes of the body and leave the rest for the server to discard."""
    return plain(start_response, environ["wsgi.input"].read(2))


# -- environ -------------------------------------------------------------------------------


def environ_dump(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The environ as JSON; values that are not JSON become their type's name in angle brackets."""
    result: dict[str, Any] = {}
    for key, value in environ.items():
        result[key] = value if isinstance(value, (str, bool, int, tuple)) else f"<{type(value).__name__}>"
    result["wsgi.file_wrapper callable"] = callable(environ.get("wsgi.file_wrapper"))
    return plain(start_response, json.dumps(result).encode())


# -- start_response, write() and exc_info --------------------------------------------------


def write_callable(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    write = start_response("200 OK", [TEXT])
    write(b"written-1 ")
    write(b"")
    write(b"written-2 ")
    return [b"returned"]


def exc_info_before_headers(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """An error page replaces a response whose head has not been sent yet."""
    start_response("200 OK", [TEXT, ("X-Discarded", "yes")])
    try:
        raise ValueError("wsgi_cases: replaced before the headers")
    except ValueError:
        start_response("503 Service Unavailable", [TEXT, ("Content-Length", "8")], sys.exc_info())
    return [b"replaced"]


def exc_info_after_headers(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Once the head is out, start_response(exc_info) re-raises and the connection is cut."""
    start_response("200 OK", [TEXT])

    def body() -> Iterator[bytes]:
        yield b"first piece\n"
        try:
            raise ValueError("wsgi_cases: failure after the headers")
        except ValueError:
            start_response("500 Internal Server Error", [TEXT], sys.exc_info())
        yield b"never sent\n"

    return body()


def raise_before_headers(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("wsgi_cases: raised before the headers")


def raise_in_iterator(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [TEXT])

    def body() -> Iterator[bytes]:
        yield b"first piece\n"
        raise RuntimeError("wsgi_cases: raised in the iterator")

    return body()


def bad_start(status: str, headers: list[tuple[str, str]]) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, headers)
        return [b"must not be sent"]

    return app


def str_body(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [TEXT])
    return ["text, not bytes"]  # type: ignore[list-item]  # the mistake under test


def no_start_response(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return [b"no start_response() call"]


# -- framing -------------------------------------------------------------------------------


def no_content(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """204 with a body the application should not have given: the server drops it."""
    start_response("204 No Content", [])
    return [b"dropped"]


def big(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """``?bytes=N`` (default 8 MiB) in one piece: one write larger than any socket buffer."""
    size = int(environ["QUERY_STRING"].partition("bytes=")[2] or 8 * 1024 * 1024)
    return plain(start_response, b"x" * size)


def declared_length(declared: int, body: bytes) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [TEXT, ("Content-Length", str(declared))])
        return iter([body[: len(body) // 2], body[len(body) // 2 :]])

    return app


def file_wrapper(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """``wsgi.file_wrapper`` over a real file from ``?offset=``; ``?length=no`` omits Content-Length."""
    query = dict(part.partition("=")[::2] for part in environ["QUERY_STRING"].split("&") if part)
    offset = int(query.get("offset", "0"))
    size = SAMPLE_FILE.stat().st_size - offset
    headers = [TEXT] if query.get("length") == "no" else [TEXT, ("Content-Length", str(size))]
    start_response("200 OK", headers)
    file = SAMPLE_FILE.open("rb")
    file.seek(offset)
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](file, 8192)
    return wrapper


# -- close() -------------------------------------------------------------------------------


class ClosingResult:
    """A response iterable that reports its ``close()``; ``fail_at`` makes the n-th piece raise."""

    def __init__(self, token: str, pieces: list[bytes], fail_at: int | None = None) -> None:
        self.token = token
        self.pieces = pieces
        self.fail_at = fail_at

    def __iter__(self) -> Iterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index == self.fail_at:
                raise RuntimeError(f"wsgi_cases: iteration failed for {self.token}")
            yield piece

    def close(self) -> None:
        report(f"close() called for {self.token}")


def closing(fail_at: int | None) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [TEXT])
        return ClosingResult(environ["QUERY_STRING"], [b"closing ", b"body"], fail_at)

    return app


# -- dispatch ------------------------------------------------------------------------------

ROUTES: dict[str, WSGIApplication] = {
    "/input/end": input_end,
    "/input/partial": input_partial,
    "/write": write_callable,
    "/big": big,
    "/exc-info/before-headers": exc_info_before_headers,
    "/exc-info/after-headers": exc_info_after_headers,
    "/raise/before-headers": raise_before_headers,
    "/raise/in-iterator": raise_in_iterator,
    "/status/short-code": bad_start("20 OK", [TEXT]),
    "/status/crlf": bad_start("200 OK\r\nX-Injected: yes", [TEXT]),
    "/header/crlf": bad_start("200 OK", [TEXT, ("X-Bad", "a\r\nX-Injected: yes")]),
    "/header/non-latin-1": bad_start("200 OK", [TEXT, ("X-Bad", "snowman \u2603")]),
    "/body/str": str_body,
    "/no-start-response": no_start_response,
    "/no-content": no_content,
    "/length/too-much": declared_length(5, b"0123456789"),
    "/length/too-little": declared_length(10, b"01234"),
    "/length/none-of-it": declared_length(10, b""),
    "/file-wrapper": file_wrapper,
    "/close/ok": closing(None),
    "/close/raise-before-body": closing(0),
    "/close/raise-mid-body": closing(1),
}
PREFIXES: dict[str, WSGIApplication] = {"/validated/": validated, "/environ/": environ_dump}


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]] | None = ROUTES.get(path)
    if app is None:
        app = next((app for prefix, app in PREFIXES.items() if path.startswith(prefix)), None)
    if app is None:
        return plain(start_response, f"no case at {path}".encode(), "404 Not Found")
    return app(environ, start_response)
