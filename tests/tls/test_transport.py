"""TLSTransport: whole writes bounded by the send timeout, files sent through TLS byte-exact."""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time

import pytest

from devserver.tls.connection import ServerTLSSocket
from devserver.tls.transport import FILE_CHUNK, TLSTransport
from devserver.wsgi.gateway import ClientDisconnected

from ..server import trickling_reader
from .conftest import TIMEOUT


def read_all(client: ssl.SSLSocket, size: int) -> bytes:
    received = b""
    while len(received) < size:
        chunk = client.recv(65536)
        assert chunk, "closed early"
        received += chunk
    return received


def reading(client: ssl.SSLSocket, size: int) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    thread = threading.Thread(target=lambda: got.append(read_all(client, size)))
    thread.start()
    return thread, got


def test_a_large_write_waits_for_the_reader_and_arrives_whole(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    data = bytes(range(256)) * 40_000  # 10 MB: far more than the socket buffers hold
    thread, got = reading(client, len(data))
    TLSTransport(server, TIMEOUT).send(data)
    thread.join(TIMEOUT)
    assert got == [data]


def test_more_holds_the_head_for_the_file(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    content = bytes(range(256)) * 1000  # several chunks
    with tempfile.TemporaryFile() as file:
        file.write(content)
        file.flush()
        transport = TLSTransport(server, TIMEOUT)
        transport.send(b"HEAD\r\n\r\n", more=True)
        thread, got = reading(client, 8 + len(content) - 300 - 5)
        assert transport.sendfile(file, 300, len(content) - 300 - 5) == len(content) - 305
        assert file.tell() == len(content) - 5
        thread.join(TIMEOUT)
    assert got == [b"HEAD\r\n\r\n" + content[300:-5]]
    assert len(content) > 2 * FILE_CHUNK


def test_a_file_shorter_than_promised_sends_what_there_is(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    with tempfile.TemporaryFile() as file:
        file.write(b"short")
        file.flush()
        transport = TLSTransport(server, TIMEOUT)
        transport.send(b"H", more=True)
        assert transport.sendfile(file, 0, 100) == 5
    assert read_all(client, 6) == b"Hshort"


def test_a_client_that_stopped_reading_is_dropped_at_the_send_timeout(
    tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket],
) -> None:
    server, _ = tls_pair
    started = time.monotonic()
    with pytest.raises(ClientDisconnected, match="too slowly"):
        TLSTransport(server, 0.5).send(b"x" * (64 * 1024 * 1024))
    assert 0.4 <= time.monotonic() - started < TIMEOUT


def test_a_trickling_reader_gets_the_send_timeout_for_the_whole_file(
    tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket],
) -> None:
    server, client = tls_pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with tempfile.TemporaryFile() as file:
        file.write(b"x" * (8 * 1024 * 1024))
        file.flush()
        with trickling_reader(client):  # every write makes progress; the whole would take ~100 s
            started = time.monotonic()
            with pytest.raises(ClientDisconnected, match="too slowly"):
                TLSTransport(server, 0.5).sendfile(file, 0, 8 * 1024 * 1024)
            assert time.monotonic() - started < 5


def test_a_vanished_client_is_client_disconnected(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    client.close()
    with pytest.raises(ClientDisconnected):
        TLSTransport(server, TIMEOUT).send(b"x" * (16 * 1024 * 1024))  # more than any buffer: the reset comes
