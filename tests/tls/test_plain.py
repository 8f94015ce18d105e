"""The answer to plain HTTP on the HTTPS port: the URL that works."""

from __future__ import annotations

import pytest

from devserver.http.connection import HTTPConnection
from devserver.http.parser import Request
from devserver.tls.plain import PlainHTTPOnTLSPort, https_url, is_tls_record, plain_http_refusal, refusal_for_head


def parsed(head: bytes) -> Request:
    connection = HTTPConnection()
    connection.receive(head)
    event = connection.next_event()
    assert isinstance(event, Request)
    return event


@pytest.mark.parametrize(
    ("first", "tls"), [(b"\x16", True), (b"\x15", True), (b"G", False), (b"\x00", False), (b"", False)]
)
def test_a_tls_record_is_told_from_a_request_by_its_first_byte(first: bytes, tls: bool) -> None:
    assert is_tls_record(first) is tls


@pytest.mark.parametrize(
    ("host", "target", "url"),
    [
        (b"localhost:8000", b"/orders/?page=2", "https://localhost:8000/orders/?page=2"),
        (b"shop.test", b"/", "https://shop.test:8443/"),  # no port: the client reached this one all the same
        (b"[::1]:8443", b"/a", "https://[::1]:8443/a"),
        (None, b"/a", "https://127.0.0.1:8443/a"),
        (b"evil.test\r\nX: y", b"/a", "https://127.0.0.1:8443/a"),  # not a host: not repeated
        (b"localhost:8000", b"*", "https://localhost:8000/"),
    ],
)
def test_the_url_repeats_the_host_the_client_used(host: bytes | None, target: bytes, url: str) -> None:
    assert https_url(host, target, ("0.0.0.0", 8443)) == url


def test_port_443_is_left_out() -> None:
    assert https_url(b"localhost", b"/", ("127.0.0.1", 443)) == "https://localhost/"
    assert https_url(None, b"/", ("::", 443)) == "https://[::1]/"


def test_the_refusal_is_a_400_naming_the_url() -> None:
    refusal = plain_http_refusal(parsed(b"GET /hello/ HTTP/1.1\r\nHost: localhost:8000\r\n\r\n"), ("127.0.0.1", 8000))
    assert isinstance(refusal, PlainHTTPOnTLSPort)
    assert refusal.status == 400
    assert refusal.url == "https://localhost:8000/hello/"
    assert "Use https://localhost:8000/hello/" in refusal.detail


def test_a_raw_head_gets_the_same_answer() -> None:
    refusal = refusal_for_head(
        b"GET /x?y=1 HTTP/1.1\r\nhost: localhost:9000\r\nAccept: */*\r\n\r\n", ("127.0.0.1", 9000)
    )
    assert refusal.url == "https://localhost:9000/x?y=1"
    assert refusal_for_head(b"garbage", ("127.0.0.1", 9000)).url == "https://127.0.0.1:9000/"
