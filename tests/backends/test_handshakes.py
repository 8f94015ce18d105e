"""The single backend's starting connections, stepped by a real selector as its loop does."""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.backends.handshakes import StartingConnection, StartingConnections
from devserver.tls.connection import ServerTLSSocket
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles

from ..tls.conftest import client_handshake

TIMEOUT = 10.0


class Loop:
    """A selector, the starting connections, and where they go once known."""

    def __init__(self, context: ssl.SSLContext, *, timeout: float = TIMEOUT, limit: int = 10) -> None:
        self.selector = selectors.DefaultSelector()
        self.tls: list[ServerTLSSocket] = []
        self.plain: list[socket.socket] = []
        self.starting = StartingConnections(
            context,
            self.selector,
            timeout=timeout,
            limit=limit,
            on_tls=lambda sock, client: self.tls.append(sock),
            on_plain=lambda sock, client: self.plain.append(sock),
        )

    def run_until(self, done: object, deadline: float = TIMEOUT) -> None:
        ends = time.monotonic() + deadline
        while not done() and time.monotonic() < ends:  # type: ignore[operator]
            for key, _ in self.selector.select(0.05):
                assert isinstance(key.data, StartingConnection)
                self.starting.step(key.data)
            self.starting.expire(time.monotonic())

    def close(self) -> None:
        self.starting.close_all()
        for sock in [*self.tls, *self.plain]:
            sock.close()
        self.selector.close()


@pytest.fixture
def loop(combined: Path) -> Iterator[Loop]:
    running = Loop(server_context(TLSFiles(combined)))
    yield running
    running.close()


@pytest.fixture
def trusting(combined: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(combined))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def connect(listener: socket.socket, loop: Loop) -> socket.socket:
    client = socket.create_connection(listener.getsockname()[:2], timeout=TIMEOUT)
    server, address = listener.accept()
    loop.starting.add(server, address)
    return client


def test_a_handshake_is_stepped_without_blocking_then_handed_on(
    loop: Loop, listener: socket.socket, trusting: ssl.SSLContext
) -> None:
    with connect(listener, loop) as client:
        thread, done = client_handshake(client, trusting)
        loop.run_until(lambda: loop.tls)
        thread.join(TIMEOUT)
        assert len(loop.tls) == 1
        assert len(loop.starting) == 0
        done[0].sendall(b"GET / HTTP/1.1\r\n\r\n")
        loop.tls[0].settimeout(TIMEOUT)
        assert loop.tls[0].recv(100) == b"GET / HTTP/1.1\r\n\r\n"
        done[0].close()


def test_plain_http_is_handed_back_unread(loop: Loop, listener: socket.socket) -> None:
    with connect(listener, loop) as client:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        loop.run_until(lambda: loop.plain)
        assert len(loop.plain) == 1
        assert loop.plain[0].recv(100, socket.MSG_PEEK) == b"GET / HTTP/1.1\r\n\r\n"  # the backend reads it all


def test_a_stalled_handshake_is_closed_at_its_deadline_and_logged(
    combined: Path, listener: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    loop = Loop(server_context(TLSFiles(combined)), timeout=0.3)
    try:
        with connect(listener, loop) as silent, connect(listener, loop) as halfway:
            halfway.sendall(b"\x16\x03\x01\x00\xff")  # a handshake record's header, and nothing more
            started = time.monotonic()
            with caplog.at_level(logging.WARNING, "django.server"):
                loop.run_until(lambda: not loop.starting)
            assert 0.25 <= time.monotonic() - started < TIMEOUT
            assert silent.recv(100) == b""
            assert halfway.recv(100) == b""
        assert loop.tls == loop.plain == []
        # Only the handshake that began is logged: a silent connection is as an idle one.
        assert [message.endswith("failed: timed out") for message in caplog.messages] == [True]
    finally:
        loop.close()


def test_past_the_limit_a_new_connection_is_closed_at_once(combined: Path, listener: socket.socket) -> None:
    loop = Loop(server_context(TLSFiles(combined)), limit=1)
    try:
        with connect(listener, loop), connect(listener, loop) as second:
            assert second.recv(100) == b""
            assert len(loop.starting) == 1
    finally:
        loop.close()
