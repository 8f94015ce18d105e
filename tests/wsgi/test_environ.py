"""The WSGI environ: a base built once, completed from each request."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from devserver.http.parser import Request, RequestParser
from devserver.wsgi.environ import MEMORY_SIZE, Environ, EnvironBuilder, base_environ
from devserver.wsgi.filewrapper import FileWrapper
from devserver.wsgi.input import RequestBody

CLIENT = ("192.0.2.7", 54321)


def request_environ(
    base: Environ, request: Request, client: tuple[str, int], body: Any, content_length: int | None
) -> Environ:
    """One environ from a builder that remembers nothing yet."""
    return EnvironBuilder(base).build(request, client, body, content_length)


def parse_request(head: bytes) -> Request:
    parser = RequestParser()
    parser.feed(head)
    request = parser.next_event()
    assert isinstance(request, Request)
    return request


def environ_for(head: bytes, *, content_length: int | None = None, **base: Any) -> dict[str, Any]:
    settings = {"server_name": "127.0.0.1", "server_port": 8000, "multithread": True, **base}
    return request_environ(base_environ(**settings), parse_request(head), CLIENT, RequestBody(), content_length)


@pytest.mark.parametrize("multithread", [True, False])
def test_base_environ_has_the_constant_keys(multithread: bool) -> None:
    base = base_environ(server_name="::1", server_port=8123, multithread=multithread)
    assert base["SERVER_NAME"] == "::1"
    assert base["SERVER_PORT"] == "8123"
    assert base["SCRIPT_NAME"] == ""
    assert base["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert base["SERVER_SOFTWARE"].startswith("devserver/")
    assert base["wsgi.version"] == (1, 0)
    assert base["wsgi.url_scheme"] == "http"
    assert base["wsgi.errors"] is sys.stderr
    assert base["wsgi.multithread"] is multithread
    assert base["wsgi.multiprocess"] is False
    assert base["wsgi.run_once"] is False
    assert base["wsgi.file_wrapper"] is FileWrapper


def test_request_keys_come_from_the_request_line_and_the_client() -> None:
    environ = environ_for(b"GET /shop/items/?a=%20b&c=d+e HTTP/1.0\r\n\r\n")
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["PATH_INFO"] == "/shop/items/"
    assert environ["QUERY_STRING"] == "a=%20b&c=d+e"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert environ["REMOTE_ADDR"] == "192.0.2.7"
    assert environ["REMOTE_PORT"] == "54321"
    assert environ["CONTENT_TYPE"] == ""
    assert environ["CONTENT_LENGTH"] == ""
    assert "wsgi.input_terminated" not in environ


@pytest.mark.parametrize(
    ("target", "path_info"),
    [
        (b"/caf%C3%A9", "/caf\xc3\xa9"),  # bytes percent-decoded, then decoded as latin-1 (PEP 3333)
        (b"/a%2Fb", "/a/b"),
        (b"/%41%42?x=%41", "/AB"),
        (b"/plain/path", "/plain/path"),
        (b"http://example.com/abs%20path?q", "/abs path"),
    ],
)
def test_path_info_is_percent_decoded_to_latin_1(target: bytes, path_info: str) -> None:
    assert environ_for(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")["PATH_INFO"] == path_info


def test_query_string_stays_raw() -> None:
    assert environ_for(b"GET /?caf%C3%A9=%2F+x HTTP/1.1\r\nHost: x\r\n\r\n")["QUERY_STRING"] == "caf%C3%A9=%2F+x"


def test_headers_become_http_keys_decoded_as_latin_1() -> None:
    environ = environ_for(b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Custom-Name: caf\xe9\r\nAccept: */*\r\n\r\n")
    assert environ["HTTP_HOST"] == "example.com"
    assert environ["HTTP_X_CUSTOM_NAME"] == "caf\xe9"
    assert environ["HTTP_ACCEPT"] == "*/*"


def test_content_type_and_length_have_no_http_prefix() -> None:
    environ = environ_for(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "5"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_LENGTH" not in environ


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 6.6.6.6\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n",
    ],
    ids=["underscore-first", "underscore-last"],
)
def test_header_names_with_underscores_are_dropped(head: bytes) -> None:
    assert environ_for(head)["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"


def test_repeated_headers_are_joined_with_commas_and_cookies_with_semicolons() -> None:
    environ = environ_for(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Tag: a\r\nCookie: one=1\r\nX-Tag: b\r\nCookie: two=2\r\n\r\n"
    )
    assert environ["HTTP_X_TAG"] == "a,b"
    assert environ["HTTP_COOKIE"] == "one=1; two=2"


def test_chunked_body_length_is_the_spooled_size_and_input_is_terminated() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert environ_for(head, content_length=42)["CONTENT_LENGTH"] == "42"
    unknown = environ_for(head)
    assert unknown["CONTENT_LENGTH"] == ""
    assert unknown["wsgi.input_terminated"] is True


def test_input_is_the_body_given_and_the_base_is_left_alone() -> None:
    base = base_environ(server_name="127.0.0.1", server_port=8000, multithread=False)
    before = dict(base)
    body = RequestBody()
    environ = request_environ(base, parse_request(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"), CLIENT, body, None)
    assert environ["wsgi.input"] is body
    assert base == before


def test_a_builder_gives_the_same_environ_on_every_request_and_its_memory_is_bounded() -> None:
    builder = EnvironBuilder(base_environ(server_name="127.0.0.1", server_port=8000, multithread=True))
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: 1\r\nX_Api_Key: spoof\r\nContent-Type: text/plain\r\n\r\n"
    first, second = (builder.build(parse_request(head), CLIENT, RequestBody(), None) for _ in range(2))
    assert {**first, "wsgi.input": None} == {**second, "wsgi.input": None}
    assert first["HTTP_X_API_KEY"] == "1"
    assert first["CONTENT_TYPE"] == "text/plain"
    for batch in range(MEMORY_SIZE // 90 + 1):
        names = [b"X-H%d" % (batch * 90 + number) for number in range(90)]
        head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(name + b": v\r\n" for name in names) + b"\r\n"
        environ = builder.build(parse_request(head), CLIENT, RequestBody(), None)
        assert all(environ["HTTP_" + name.decode().upper().replace("-", "_")] == "v" for name in names)
    assert len(builder._keys) == MEMORY_SIZE


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
def test_the_url_scheme_makes_django_s_request_secure(scheme: str, secure: bool) -> None:
    from django.core.handlers.wsgi import WSGIRequest

    environ = environ_for(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", url_scheme=scheme)
    assert environ["wsgi.url_scheme"] == scheme
    assert ("HTTPS" in environ) is secure
    assert WSGIRequest(environ).is_secure() is secure
