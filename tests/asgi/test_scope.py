"""ASGI scopes from parsed request heads."""

from __future__ import annotations

from devserver.asgi.scope import ScopeBuilder, decode_path
from devserver.http.parser import Request, RequestParser


def parse(head: bytes) -> Request:
    parser = RequestParser()
    parser.feed(head)
    request = parser.next_event()
    assert isinstance(request, Request)
    return request


def test_path_is_percent_and_utf8_decoded_raw_path_is_not() -> None:
    assert decode_path(b"/caf%C3%A9/a%20b") == "/café/a b"
    assert decode_path(b"/plain") == "/plain"


def test_bytes_that_are_not_utf8_become_replacement_characters() -> None:
    assert decode_path(b"/%FF") == "/\ufffd"


def test_http_scope_keys() -> None:
    builder = ScopeBuilder(("127.0.0.1", 8000), state={"ready": True})
    request = parse(b"GET /a%2Fb?x=1 HTTP/1.0\r\nHost: h\r\nX-Tag: v\r\n\r\n")
    scope = builder.http(request, ("10.0.0.1", 5555))
    assert scope["type"] == "http"
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/a/b", b"/a%2Fb", b"x=1")
    assert scope["http_version"] == "1.0"
    assert scope["headers"] == [(b"host", b"h"), (b"x-tag", b"v")]
    assert (scope["client"], scope["server"]) == (("10.0.0.1", 5555), ("127.0.0.1", 8000))
    assert scope["state"] == {"ready": True}


def test_each_scope_gets_its_own_copy_of_the_state() -> None:
    builder = ScopeBuilder(("127.0.0.1", 8000), state={"n": 1})
    request = parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    first = builder.http(request, ("127.0.0.1", 1))
    first["state"]["n"] = 2
    assert builder.http(request, ("127.0.0.1", 1))["state"] == {"n": 1}


def test_header_names_with_underscores_are_dropped() -> None:
    builder = ScopeBuilder(("127.0.0.1", 8000))
    assert builder.headers([(b"X_Forwarded_For", b"spoof"), (b"X-Forwarded-For", b"ok")]) == [
        (b"x-forwarded-for", b"ok")
    ]


def test_websocket_scope_has_subprotocols_and_ws_scheme() -> None:
    builder = ScopeBuilder(("127.0.0.1", 8000))
    request = parse(b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    scope = builder.websocket(request, ("127.0.0.1", 1), ["chat"])
    assert (scope["type"], scope["scheme"], scope["subprotocols"]) == ("websocket", "ws", ["chat"])
    assert "method" not in scope
