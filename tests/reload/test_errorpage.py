"""The crash page, served on a real socket."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.backends.adoption import HandedConnection
from devserver.reload.errorpage import ErrorPageServer, crash_details, render_page
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles

OUTPUT = """[29/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 12
Traceback (most recent call last):
  File "manage.py", line 22, in <module>
Traceback (most recent call last):
  File "/srv/shop/models.py", line 17
    x = (<b>
        ^
SyntaxError: '(' was never closed
"""


def test_the_details_are_the_last_traceback() -> None:
    details = crash_details(OUTPUT)
    assert details.startswith('Traceback (most recent call last):\n  File "/srv/shop/models.py"')
    assert details.endswith("SyntaxError: '(' was never closed")


def test_without_a_traceback_the_details_are_the_last_lines() -> None:
    output = "\n".join(f"line {number}" for number in range(200))
    details = crash_details(output + "\nSystemCheckError: System check identified some issues:\n")
    assert details.endswith("SystemCheckError: System check identified some issues:")
    assert "line 199" in details
    assert "line 0\n" not in details


def test_the_page_escapes_what_the_child_printed() -> None:
    page = render_page("The server process exited with status 1.", crash_details(OUTPUT)).decode()
    assert "x = (&lt;b&gt;" in page
    assert "<b>" not in page
    assert "<script" not in page


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.fixture
def pages(listener: socket.socket) -> Iterator[ErrorPageServer]:
    server = ErrorPageServer(listener, render_page("It crashed.", crash_details(OUTPUT)))
    server.start()
    yield server
    for silent in server.stop():
        silent.close()
    assert server.wait_idle(10)


@pytest.fixture
def tcp() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connection a restarting child handed over: (the server's side, the client's side)."""
    with socket.create_server(("127.0.0.1", 0)) as elsewhere:
        client = socket.create_connection(elsewhere.getsockname()[:2], timeout=10)
        server_side, _ = elsewhere.accept()
    with client:
        yield server_side, client
    server_side.close()


def request(listener: socket.socket, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10)
    try:
        connection.request(method, "/any/path/?q=1")
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_every_request_gets_the_traceback_with_status_500(listener: socket.socket, pages: ErrorPageServer) -> None:
    for _ in range(3):
        status, headers, body = request(listener)
        assert status == 500
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Connection"] == "close"
        assert int(headers["Content-Length"]) == len(body)
        assert b"SyntaxError: &#x27;(&#x27; was never closed" in body
        assert b"/srv/shop/models.py" in body


def test_a_head_request_gets_no_body(listener: socket.socket, pages: ErrorPageServer) -> None:
    status, headers, body = request(listener, "HEAD")
    assert status == 500
    assert body == b""
    assert int(headers["Content-Length"]) > 0


def test_a_post_with_a_body_still_gets_the_page(listener: socket.socket, pages: ErrorPageServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10)
    try:
        connection.request("POST", "/upload/", body=b"x" * 200_000)
        response = connection.getresponse()
        assert response.status == 500
        assert b"SyntaxError" in response.read()
    finally:
        connection.close()


def test_once_stopped_connections_wait_in_the_backlog(listener: socket.socket) -> None:
    server = ErrorPageServer(listener, b"page")
    server.start()
    server.stop()
    with socket.create_connection(listener.getsockname()[:2], timeout=10) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        listener.settimeout(10)
        accepted, _ = listener.accept()  # still queued: the next child would accept it
        with accepted:
            assert accepted.recv(100).startswith(b"GET / HTTP/1.1")


@pytest.mark.parametrize("received", [b"", b"GET /after/the/crash/ HTTP/1.1\r\nHo"])
def test_a_held_connection_gets_the_page_for_its_next_request(
    pages: ErrorPageServer, tcp: tuple[socket.socket, socket.socket], received: bytes
) -> None:
    server_side, client = tcp
    pages.hold(HandedConnection(server_side, ("127.0.0.1", 1), received))
    client.sendall(b"st: x\r\n\r\n" if received else b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = client.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"SyntaxError" in answer


def test_a_held_connection_still_silent_is_given_back_on_stop(
    listener: socket.socket, tcp: tuple[socket.socket, socket.socket]
) -> None:
    server_side, client = tcp
    server = ErrorPageServer(listener, b"page")
    server.start()
    held = HandedConnection(server_side, ("127.0.0.1", 1))
    server.hold(held)
    assert server.stop() == [held]  # for the next child
    assert server_side.fileno() != -1
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert server_side.recv(100).startswith(b"GET / HTTP/1.1")  # unanswered, unread


# -- over HTTPS ---------------------------------------------------------------------------


@pytest.fixture
def https_pages(listener: socket.socket, combined: Path) -> Iterator[ErrorPageServer]:
    server = ErrorPageServer(
        listener, render_page("It crashed.", crash_details(OUTPUT)), tls=server_context(TLSFiles(combined))
    )
    server.start()
    yield server
    server.stop()
    assert server.wait_idle(10)


def test_over_https_the_page_follows_the_handshake(
    listener: socket.socket, https_pages: ErrorPageServer, combined: Path
) -> None:
    context = ssl.create_default_context(cafile=str(combined))
    connection = http.client.HTTPSConnection("127.0.0.1", listener.getsockname()[1], timeout=10, context=context)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 500
    assert b"SyntaxError: &#x27;(&#x27; was never closed" in body


def test_over_https_plain_http_is_told_the_url(listener: socket.socket, https_pages: ErrorPageServer) -> None:
    status, _, body = request(listener)
    assert status == 400
    assert f"Use https://127.0.0.1:{listener.getsockname()[1]}/any/path/?q=1".encode() in body
