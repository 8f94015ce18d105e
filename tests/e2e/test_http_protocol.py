"""HTTP/1.1 as the real command speaks it, over raw sockets, against every backend."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import os
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import ServerFactory
from ..server import REPO, DevrunProcess
from .rawclient import RawClient, RawResponse, build_request, chunked, get

SAMPLE_FILE = REPO / "testproject" / "shop" / "files" / "sample.txt"
STATIC_DIR = REPO / "testproject" / "shop" / "static" / "shop"
HELLO = b"Hello, world!"


def echo(response: RawResponse) -> dict[str, Any]:
    assert response.status == 200, response.body[:500]
    result: dict[str, Any] = json.loads(response.body)
    return result


def assert_still_serving(server: DevrunProcess) -> None:
    response = get(server, "/hello/")
    assert (response.status, response.body) == (200, HELLO)


# -- keep-alive, pipelining, connection management ---------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        for path in ("/hello/", "/json/", "/hello/"):
            client.request("GET", path)
            response = client.read_response()
            assert response.status == 200
            assert not response.closes
        client.request("GET", "/echo/")
        assert echo(client.read_response())["path"] == "/echo/"


def test_pipelined_requests_are_answered_in_order(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.send(
            build_request("GET", "/hello/")
            + build_request("GET", "/json/")
            + build_request("GET", "/echo/?third=1", [("Connection", "close")])
        )
        first, second, third = (client.read_response() for _ in range(3))
        assert (first.status, first.body) == (200, HELLO)
        assert json.loads(second.body) == {"message": "hello", "items": [1, 2, 3]}
        assert echo(third)["query_string"] == "third=1"
        client.assert_closed()


def test_connection_close_is_honoured(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/hello/", [("Connection", "close")])
        response = client.read_response()
        assert response.body == HELLO
        assert response.closes
        client.assert_closed()


def test_http10_closes_after_the_response_by_default(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/hello/", version="HTTP/1.0", host=None)
        response = client.read_response()
        assert (response.version, response.status, response.body) == ("HTTP/1.0", 200, HELLO)
        assert response.closes
        client.assert_closed()


def test_http10_keep_alive_is_honoured_when_the_length_is_known(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        for _ in range(2):
            client.request("GET", "/hello/", [("Connection", "keep-alive")], version="HTTP/1.0")
            response = client.read_response()
            assert response.body == HELLO
            assert response.header("Connection") == "keep-alive"
            assert response.header("Content-Length") == "13"


def test_http10_with_transfer_encoding_is_answered_then_closed(server: DevrunProcess) -> None:
    """RFC 9112 §6.1: its framing is faulty, so the connection must close after the response."""
    with RawClient.to(server) as client:
        headers = [("Connection", "keep-alive"), ("Transfer-Encoding", "chunked")]
        client.send(build_request("POST", "/echo/", headers, chunked(b"abc"), version="HTTP/1.0"))
        response = client.read_response()
        assert echo(response)["body_length"] == 3
        assert response.closes
        client.assert_closed()


# -- response framing ------------------------------------------------------------------


def test_known_length_is_framed_by_content_length(server: DevrunProcess) -> None:
    response = get(server, "/hello/")
    assert response.framing == "content-length"
    assert response.header("Content-Length") == "13"
    assert response.header("Transfer-Encoding") is None


def test_stream_is_chunked_on_http11(server: DevrunProcess) -> None:
    response = get(server, "/stream/?chunks=3")
    assert response.framing == "chunked"
    assert response.complete
    assert response.body == b"chunk 0\nchunk 1\nchunk 2\n"
    assert response.header("Content-Length") is None


def test_stream_is_close_delimited_on_http10(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/stream/?chunks=3", [("Connection", "keep-alive")], version="HTTP/1.0")
        response = client.read_response()
        assert response.framing == "close"
        assert response.closes
        assert response.header("Transfer-Encoding") is None
        assert response.body == b"chunk 0\nchunk 1\nchunk 2\n"


def test_date_and_server_headers_are_present(server: DevrunProcess) -> None:
    response = get(server, "/hello/")
    date = response.header("Date")
    assert date is not None
    sent = email.utils.parsedate_to_datetime(date)
    assert abs(sent.timestamp() - time.time()) < 60
    assert date.endswith(" GMT")
    assert (response.header("Server") or "").startswith("devserver/")


def test_stream_chunks_arrive_one_by_one(server: DevrunProcess) -> None:
    with RawClient.to(server, timeout=20) as client:
        client.request("GET", "/stream/?chunks=3&delay=0.5", [("Connection", "close")])
        head = client.read_head()
        assert head.status == 200
        arrivals: list[tuple[bytes, float]] = []
        while chunk := client.read_chunk():
            arrivals.append((chunk, time.monotonic()))
    assert [chunk for chunk, _ in arrivals] == [b"chunk 0\n", b"chunk 1\n", b"chunk 2\n"]
    # The view sleeps 0.5 s twice; a buffered response would deliver all three at once.
    assert arrivals[-1][1] - arrivals[0][1] >= 0.5


# -- request bodies ----------------------------------------------------------------------


def test_chunked_request_body_reaches_the_application_whole(server: DevrunProcess) -> None:
    body = os.urandom(300_000)
    pieces = [body[:1], body[1:70_000], body[70_000:70_001], body[70_001:]]
    with RawClient.to(server) as client:
        client.request("POST", "/echo/", [("Transfer-Encoding", "chunked")], chunked(*pieces))
        described = echo(client.read_response())
    assert described["body_length"] == len(body)
    assert described["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_content_length_body_reaches_the_application_whole(server: DevrunProcess) -> None:
    body = os.urandom(1_500_000)
    with RawClient.to(server) as client:
        client.request("POST", "/echo/", [("Content-Type", "application/octet-stream")], body)
        described = echo(client.read_response())
        assert described["body_length"] == len(body)
        assert described["body_sha256"] == hashlib.sha256(body).hexdigest()
        assert described["content_length"] == str(len(body))
        client.request("GET", "/hello/")
        assert client.read_response().body == HELLO


def test_expect_continue_gets_100_when_the_application_reads_the_body(server: DevrunProcess) -> None:
    body = b"hello body"
    with RawClient.to(server) as client:
        client.request("POST", "/echo/", [("Expect", "100-continue"), ("Content-Length", str(len(body)))])
        interim = client.read_head()  # the body is not sent until the server asks for it
        assert (interim.version, interim.status, interim.reason) == ("HTTP/1.1", 100, "Continue")
        client.send(body)
        described = echo(client.read_response())
        assert described["body_length"] == len(body)
        client.request("GET", "/hello/")
        assert client.read_response().body == HELLO


#: Whether the body is asked for before the view runs: ``single`` receives whole requests before
#: serving them (so it never blocks on a slow upload); ``threaded`` asks only when the application
#: reads; ``asyncio`` asks when the application receives, and Django's ASGI handler receives the
#: whole body before it calls the view.
INVITES_BODY_EAGERLY = {"threaded": False, "single": True, "asyncio": True}


def test_expect_continue_without_body_read_gets_final_response_and_close(
    server: DevrunProcess, backend_name: str
) -> None:
    """POST /hello/ is refused by the CSRF middleware before anything reads the body."""
    if INVITES_BODY_EAGERLY[backend_name]:
        pytest.skip(f"on the {backend_name} backend the body is asked for before the view runs")
    with RawClient.to(server) as client:
        client.request("POST", "/hello/", [("Expect", "100-continue"), ("Content-Length", "5")])
        response = client.read_response(skip_interim=False)
        assert response.status == 403
        assert response.header("connection") == "close"
        client.assert_closed()


def test_expect_continue_is_answered_at_once_by_a_spooling_backend(server: DevrunProcess, backend_name: str) -> None:
    if not INVITES_BODY_EAGERLY[backend_name]:
        pytest.skip(f"the {backend_name} backend invites the body only when the application reads it")
    with RawClient.to(server) as client:
        client.request("POST", "/hello/", [("Expect", "100-continue"), ("Content-Length", "5")])
        assert client.read_head().status == 100
        client.send(b"12345")
        assert client.read_response().status == 403
        client.request("GET", "/hello/")  # the body was read, so the connection stays usable
        assert client.read_response().body == HELLO


# -- HEAD, 304 ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hello/", "/static/shop/site.css"])
def test_head_has_no_body_and_the_same_headers_as_get(server: DevrunProcess, path: str) -> None:
    with RawClient.to(server) as client:
        # Pipelined: a body after the HEAD response would corrupt the GET response after it.
        client.send(build_request("HEAD", path) + build_request("GET", path))
        head = client.read_response("HEAD")
        full = client.read_response("GET")
    assert head.status == full.status == 200
    assert head.body == b""
    assert full.body
    assert head.header("Content-Length") == full.header("Content-Length") == str(len(full.body))

    def comparable(response: RawResponse) -> list[tuple[str, str]]:
        return sorted((name.lower(), value) for name, value in response.headers if name.lower() != "date")

    assert comparable(head) == comparable(full)


def test_conditional_get_on_a_static_file_gets_304_without_body(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/static/shop/site.css")
        last_modified = client.read_response().header("Last-Modified")
        assert last_modified is not None
        client.send(
            build_request("GET", "/static/shop/site.css", [("If-Modified-Since", last_modified)])
            + build_request("GET", "/hello/")
        )
        not_modified = client.read_response()
        assert not_modified.status == 304
        assert not_modified.framing == "none"
        assert client.read_response().body == HELLO  # nothing was sent after the 304 head


# -- files -------------------------------------------------------------------------------


def test_download_body_equals_the_file_on_disk(server: DevrunProcess) -> None:
    response = get(server, "/download/")
    expected = SAMPLE_FILE.read_bytes()
    assert response.header("Content-Length") == str(len(expected))
    assert response.body == expected


@pytest.mark.parametrize("name", ["site.css", "logo.png"])
def test_static_file_body_equals_the_file_on_disk(server: DevrunProcess, name: str) -> None:
    response = get(server, f"/static/shop/{name}")
    expected = (STATIC_DIR / name).read_bytes()
    assert response.status == 200
    assert response.framing == "content-length"
    assert response.body == expected


def test_file_responses_keep_the_connection_usable(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        for path in ("/download/", "/static/shop/site.css", "/hello/"):
            client.request("GET", path)
            response = client.read_response()
            assert response.status == 200
            assert response.complete
        assert response.body == HELLO


# -- limits and bad input ----------------------------------------------------------------

LONG_TARGET = "/" + "a" * (64 * 1024 + 1)
BIG_HEADERS = [(f"X-Filler-{i}", "v" * 1000) for i in range(70)]
MANY_HEADERS = [(f"X-Field-{i}", "v") for i in range(101)]

BAD_REQUESTS = {
    "request_line_over_64k_gets_414": (build_request("GET", LONG_TARGET), 414),
    "header_block_over_64k_gets_431": (build_request("GET", "/hello/", BIG_HEADERS), 431),
    "one_endless_header_gets_431": (b"GET / HTTP/1.1\r\nX-Endless: " + b"v" * 200_000, 431),
    "over_100_header_fields_gets_431": (build_request("GET", "/hello/", MANY_HEADERS), 431),
    "garbage_gets_400": (b"\x00\x01\x02garbage\r\n\r\n", 400),
    "malformed_request_line_gets_400": (b"GET / HTTP/1.1 trailing\r\n\r\n", 400),
    "malformed_header_gets_400": (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
    "unknown_transfer_coding_gets_501": (
        build_request("POST", "/echo/", [("Transfer-Encoding", "gzip, chunked")], chunked(b"abc")),
        501,
    ),
    "unknown_method_gets_501": (build_request("FOO", "/"), 501),
    "http_2_0_gets_505": (build_request("GET", "/", version="HTTP/2.0"), 505),
    "http_3_1_gets_505": (build_request("GET", "/", version="HTTP/3.1"), 505),
    "content_length_with_transfer_encoding_gets_400": (
        build_request("POST", "/echo/", [("Content-Length", "3"), ("Transfer-Encoding", "chunked")], chunked(b"abc")),
        400,
    ),
    "two_different_content_lengths_get_400": (
        build_request("POST", "/echo/", [("Content-Length", "3"), ("Content-Length", "4")], b"abcd"),
        400,
    ),
    "bad_chunk_size_gets_400": (
        build_request("POST", "/echo/", [("Transfer-Encoding", "chunked")], b"zz\r\nabc\r\n0\r\n\r\n"),
        400,
    ),
    "http11_without_host_gets_400": (build_request("GET", "/hello/", host=None), 400),
    "two_hosts_get_400": (build_request("GET", "/hello/", [("Host", "127.0.0.1"), ("Host", "127.0.0.1")]), 400),
}


@pytest.mark.parametrize(("data", "status"), list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_bad_request_gets_its_status_and_the_connection_closes(server: DevrunProcess, data: bytes, status: int) -> None:
    with RawClient.to(server) as client:
        # The server may stop reading early (over TLS the client's write then says SSLEOFError).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            client.send(data)
        response = client.read_response()
        assert response.status == status, response.body
        assert response.closes
        client.assert_closed()
    assert_still_serving(server)


def test_bad_request_after_good_pipelined_ones_spoils_only_itself(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.send(
            build_request("GET", "/hello/")
            + build_request("GET", "/json/")
            + build_request("GET", "/", version="HTTP/2.0")
        )
        assert client.read_response().body == HELLO
        assert client.read_response().status == 200
        refused = client.read_response()
        assert refused.status == 505
        client.assert_closed()


# -- headers into environ ----------------------------------------------------------------


def test_header_names_with_underscores_are_dropped(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/echo/", [("X_Forwarded_For", "spoofed"), ("X-Forwarded-For", "10.0.0.1")])
        headers = echo(client.read_response())["headers"]
    assert headers["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert "spoofed" not in json.dumps(headers)


def test_duplicate_headers_are_comma_joined(server: DevrunProcess) -> None:
    with RawClient.to(server) as client:
        client.request("GET", "/echo/", [("X-Tag", "one"), ("X-Tag", "two"), ("X-Tag", "three")])
        headers = echo(client.read_response())["headers"]
    assert headers["HTTP_X_TAG"] == "one,two,three"


def test_header_values_lose_surrounding_whitespace(server: DevrunProcess) -> None:
    """RFC 9110 §5.5: optional whitespace around a field value is not part of it (runserver strips it too)."""
    with RawClient.to(server) as client:
        client.send(b"GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padded: \t padded value \t \r\n\r\n")
        headers = echo(client.read_response())["headers"]
    assert headers["HTTP_X_PADDED"] == "padded value"


# -- clients that misbehave --------------------------------------------------------------


@pytest.fixture(scope="module")
def timeout_server(start_server: ServerFactory, backend_name: str) -> Iterator[DevrunProcess]:
    """Short keep-alive and header timeouts, so the tests that wait for them stay quick."""
    settings = json.dumps({"KEEP_ALIVE_TIMEOUT": 1, "HEADER_TIMEOUT": 1})
    process = start_server("--backend", backend_name, env={"TESTPROJECT_DEVSERVER": settings})
    yield process
    process.stop()


def test_idle_keep_alive_connection_is_closed_after_the_timeout(timeout_server: DevrunProcess) -> None:
    with RawClient.to(timeout_server) as client:
        client.request("GET", "/hello/")
        assert client.read_response().body == HELLO
        idle_since = time.monotonic()
        client.assert_closed(timeout=15)
        idle = time.monotonic() - idle_since
    assert 0.5 <= idle < 10


def test_half_sent_request_head_gets_408_after_the_header_timeout(timeout_server: DevrunProcess) -> None:
    with RawClient.to(timeout_server, timeout=15) as client:
        client.send(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        response = client.read_response()
        waited = time.monotonic() - started
        assert response.status == 408
        assert response.closes
        client.assert_closed()
    assert 0.5 <= waited < 10
    assert_still_serving(timeout_server)


@pytest.fixture(scope="module")
def small_server(start_server: ServerFactory, backend_name: str) -> Iterator[DevrunProcess]:
    """Room for four connections and long timeouts: a connection leaked by a vanished client
    would hold its place for a minute."""
    settings = json.dumps({"MAX_CONNECTIONS": 4, "KEEP_ALIVE_TIMEOUT": 60, "HEADER_TIMEOUT": 60})
    process = start_server("--backend", backend_name, env={"TESTPROJECT_DEVSERVER": settings})
    yield process
    process.stop()


def test_clients_that_vanish_mid_request_cost_nothing(small_server: DevrunProcess) -> None:
    log_start = len(small_server.lines)
    halves = [
        b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half",
        b"GET /hel",
        build_request("POST", "/hello/", [("Content-Length", "1000")]) + b"x" * 10,
        build_request("POST", "/echo/", [("Transfer-Encoding", "chunked")]) + b"5\r\nab",
    ]
    for half in halves * 3:
        with RawClient.to(small_server) as client:
            client.send(half)
    # Each vanished client's place must come back once the server notices the EOF; a leaked
    # place would stay taken for the next minute, so all four would never be served together.
    deadline = time.monotonic() + 10
    while (statuses := all_at_once(small_server, 4)) != [200] * 4 and time.monotonic() < deadline:
        pass
    assert statuses == [200] * 4
    assert "Traceback" not in "\n".join(small_server.lines[log_start:])


def all_at_once(server: DevrunProcess, count: int) -> list[int]:
    """Statuses of ``count`` requests on connections that are all open at the same time."""
    clients = [RawClient.to(server) for _ in range(count)]
    try:
        for client in clients:
            client.request("GET", "/hello/")
        return [client.read_response().status for client in clients]
    finally:
        for client in clients:
            client.close()


def client_hello() -> bytes:
    """The first flight of a real TLS handshake, as a browser would send it."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_tls_client_hello_is_closed_and_logged(server: DevrunProcess) -> None:
    log_start = len(server.lines)
    hello = client_hello()
    assert hello.startswith(b"\x16\x03")
    with RawClient.to(server) as client:
        client.send(hello)
        client.assert_closed()
    line = server.wait_for_line(lambda text: "accessing the development server over HTTPS" in text, 10, log_start)
    assert "You're accessing the development server over HTTPS, but it only supports HTTP." in line
    assert_still_serving(server)


def test_client_resetting_mid_response_does_not_stop_the_server(server: DevrunProcess) -> None:
    """The client aborts (TCP RST) after the head of a 200 KB download: the send fails, the server goes on."""
    with RawClient.to(server) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.request("GET", "/download/")
        assert client.read_head().status == 200
    assert_still_serving(server)
