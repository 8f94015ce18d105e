"""Connected TLS socket pairs, made with the server's real context, for the TLS modules' tests."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.tls.connection import ServerTLSSocket
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles
from devserver.tls.handshake import complete, wrap

TIMEOUT = 10.0


@pytest.fixture(scope="session")
def context(combined: Path) -> ssl.SSLContext:
    return server_context(TLSFiles(combined))


@pytest.fixture(scope="session")
def trusting(combined: Path) -> ssl.SSLContext:
    """A client context that trusts the test certificate and checks names, as a browser would."""
    return ssl.create_default_context(cafile=str(combined))


@pytest.fixture
def tcp() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of a loopback TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2], timeout=TIMEOUT)
        server, _ = listener.accept()
    with client, server:
        yield server, client


def client_handshake(
    client: socket.socket, trusting: ssl.SSLContext, failures: list[OSError] | None = None
) -> tuple[threading.Thread, list[ssl.SSLSocket]]:
    """The client's side of a handshake, on a thread (the server's side runs in the test); a
    handshake that fails goes to ``failures``."""
    done: list[ssl.SSLSocket] = []

    def shake() -> None:
        try:
            # Strict about the end: a bare end of stream raises, only close_notify reads as b"".
            done.append(trusting.wrap_socket(client, server_hostname="localhost", suppress_ragged_eofs=False))
        except OSError as error:
            if failures is None:
                raise
            failures.append(error)

    thread = threading.Thread(target=shake)
    thread.start()
    return thread, done


@pytest.fixture
def tls_pair(
    tcp: tuple[socket.socket, socket.socket], context: ssl.SSLContext, trusting: ssl.SSLContext
) -> Iterator[tuple[ServerTLSSocket, ssl.SSLSocket]]:
    """(server side, client side), the handshake done; the server's side non-blocking."""
    server, client = tcp
    tls = wrap(context, server)
    thread, done = client_handshake(client, trusting)
    assert complete(tls, time.monotonic() + TIMEOUT)
    thread.join(TIMEOUT)
    with tls, done[0]:
        yield tls, done[0]
