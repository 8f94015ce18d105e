"""Response framing without I/O: Content-Length, chunked, close-delimited, or no body at all."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from types import SimpleNamespace

import pytest

from devserver.clock import PerSecond, http_date
from devserver.http.response import (
    LAST_CHUNK,
    SERVER_HEADER,
    Framing,
    ResponseFramer,
    error_response,
)

TEXT = [("Content-Type", "text/plain")]


def head_lines(head: bytes) -> list[str]:
    assert head.endswith(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n")[:-2]


def header(head: bytes, name: str) -> list[str]:
    prefix = name.lower() + ":"
    return [line.split(":", 1)[1].strip() for line in head_lines(head)[1:] if line.lower().startswith(prefix)]


def framer(method: str = "GET", version: str = "1.1", *, keep_alive: bool = True) -> ResponseFramer:
    return ResponseFramer(method=method, http_version=version, keep_alive=keep_alive)


def test_known_length_is_framed_by_content_length() -> None:
    f = framer()
    head = f.head("200 OK", TEXT, 5)
    assert head_lines(head)[0] == "HTTP/1.1 200 OK"
    assert header(head, "Content-Length") == ["5"]
    assert header(head, "Transfer-Encoding") == []
    assert f.framing is Framing.CONTENT_LENGTH
    assert f.body(b"hello") == b"hello"
    assert f.end() == b""


def test_content_length_from_the_application_is_not_repeated() -> None:
    head = framer().head("200 OK", [*TEXT, ("content-length", "5")], 5, length_in_headers=True)
    assert header(head, "Content-Length") == ["5"]


def test_unknown_length_on_http11_is_chunked() -> None:
    f = framer()
    head = f.head("200 OK", TEXT, None)
    assert header(head, "Transfer-Encoding") == ["chunked"]
    assert header(head, "Content-Length") == []
    assert f.framing is Framing.CHUNKED
    assert f.keep_alive
    assert f.body(b"hello") == b"5\r\nhello\r\n"
    assert f.body(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert f.body(b"") == b""  # an empty chunk would end the body
    assert f.end() == LAST_CHUNK == b"0\r\n\r\n"


def test_unknown_length_on_http10_is_delimited_by_closing() -> None:
    f = framer(version="1.0")
    head = f.head("200 OK", TEXT, None)
    assert head_lines(head)[0] == "HTTP/1.0 200 OK"
    assert f.framing is Framing.CLOSE
    assert not f.keep_alive
    assert header(head, "Connection") == ["close"]
    assert header(head, "Transfer-Encoding") == []
    assert f.body(b"hello") == b"hello"
    assert f.end() == b""


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified", "101 Switching Protocols", "103 Early Hints"])
def test_statuses_without_a_body_send_none(status: str) -> None:
    f = framer()
    head = f.head(status, [], None)
    assert f.framing is Framing.NO_BODY
    assert not f.sends_body
    assert header(head, "Content-Length") == []
    assert header(head, "Transfer-Encoding") == []
    assert f.body(b"ignored") == b""
    assert f.end() == b""


def test_304_keeps_the_content_length_the_application_gave() -> None:
    head = framer().head("304 Not Modified", [("Content-Length", "100")], 100)
    assert header(head, "Content-Length") == ["100"]


def test_head_request_gets_the_headers_of_get_but_no_body() -> None:
    for length, framing in [(13, Framing.CONTENT_LENGTH), (None, Framing.CHUNKED)]:
        head_framer, get_framer = framer("HEAD"), framer("GET")
        head = head_framer.head("200 OK", TEXT, length)
        assert head == get_framer.head("200 OK", TEXT, length)
        assert head_framer.framing is framing
        assert not head_framer.sends_body
        assert head_framer.body(b"hello") == b""
        assert head_framer.end() == b""


@pytest.mark.parametrize(
    ("version", "keep_alive", "connection"),
    [("1.1", True, []), ("1.1", False, ["close"]), ("1.0", True, ["keep-alive"]), ("1.0", False, ["close"])],
)
def test_connection_header_says_what_happens_next(version: str, keep_alive: bool, connection: list[str]) -> None:
    f = framer(version=version, keep_alive=keep_alive)
    head = f.head("200 OK", TEXT, 0)
    assert header(head, "Connection") == connection
    assert f.keep_alive is keep_alive


def test_date_and_server_are_added_unless_the_application_sent_them() -> None:
    head = framer().head("200 OK", TEXT, 0)
    assert header(head, "Server") == [SERVER_HEADER]
    assert header(head, "Date")[0].endswith(" GMT")
    own = framer().head("200 OK", [("Date", "x"), ("Server", "y")], 0, add_date=False, add_server=False)
    assert header(own, "Date") == ["x"]
    assert header(own, "Server") == ["y"]


def test_application_headers_keep_their_order_and_latin1_values() -> None:
    head = framer().head("200 OK", [("X-B", "2"), ("X-A", "caf\xe9")], 0)
    assert head_lines(head)[1:3] == ["X-B: 2", "X-A: caf\xe9"]
    assert b"caf\xe9" in head


def test_date_is_formatted_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.1]
    calls: list[float] = []

    def counting_gmtime(seconds: float) -> time.struct_time:
        calls.append(seconds)
        return time.gmtime(seconds)

    monkeypatch.setattr("devserver.clock.time", SimpleNamespace(time=lambda: now[0], gmtime=counting_gmtime))
    date = PerSecond(http_date)
    first = date.value()
    now[0] = 1_000_000.9
    assert date.value() == first
    now[0] = 1_000_001.0
    second = date.value()
    assert calls == [1_000_000, 1_000_001]
    assert first == "Mon, 12 Jan 1970 13:46:40 GMT"
    assert second == "Mon, 12 Jan 1970 13:46:41 GMT"


def test_error_response_is_complete_and_closes() -> None:
    data = error_response(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many header fields")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head_lines(head + b"\r\n\r\n")[0] == "HTTP/1.1 431 Request Header Fields Too Large"
    assert header(head + b"\r\n\r\n", "Content-Length") == [str(len(body))]
    assert header(head + b"\r\n\r\n", "Connection") == ["close"]
    assert body == b"431 Request Header Fields Too Large\n\nToo many header fields\n"


def test_date_header_is_the_rfc_9110_imf_fixdate() -> None:

    header = PerSecond(http_date)
    before = formatdate(usegmt=True)
    value = header.value()
    after = formatdate(usegmt=True)
    assert value in (before, after)
