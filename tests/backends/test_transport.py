"""Sending on a socket whose writes are bounded by SO_SNDTIMEO."""

from __future__ import annotations

import socket
import tempfile
import threading
import time

import pytest

from devserver.backends.transport import SocketTransport, bound_sends
from devserver.wsgi.gateway import ClientDisconnected

from ..server import trickling_reader


def test_sendfile_to_a_client_that_stopped_reading_gives_up_at_the_send_timeout() -> None:
    server, client = socket.socketpair()
    with server, client, tempfile.TemporaryFile() as file:
        file.write(b"x" * (32 * 1024 * 1024))
        file.flush()
        bound_sends(server, 0.5)
        started = time.monotonic()
        with pytest.raises(ClientDisconnected):
            SocketTransport(server, 0.5).sendfile(file, 0, 32 * 1024 * 1024)
        assert time.monotonic() - started < 10


def test_sendfile_sends_the_range_asked_for() -> None:
    server, client = socket.socketpair()
    with server, client, tempfile.TemporaryFile() as file:
        file.write(b"0123456789")
        file.flush()
        bound_sends(server, 5)
        assert SocketTransport(server, 5).sendfile(file, 2, 5) == 5
        assert client.recv(100) == b"23456"
        assert file.tell() == 7


def tcp_pair(*, small_receive_buffer: bool = True) -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        if small_receive_buffer:  # so that the server's writes wait on the reader at once
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        server, _ = listener.accept()
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the backends set it
    return server, client


def test_one_send_to_a_trickling_reader_gives_up_at_the_send_timeout() -> None:
    server, client = tcp_pair()
    with server, client:
        assert bound_sends(server, 0.5)
        with trickling_reader(client):
            started = time.monotonic()
            with pytest.raises(ClientDisconnected, match="too slowly"):
                SocketTransport(server, 0.5).send(b"x" * (8 * 1024 * 1024))  # ~100 s at this pace
            assert time.monotonic() - started < 5


def test_sendfile_to_a_trickling_reader_gives_up_near_the_send_timeout() -> None:
    server, client = tcp_pair()
    with server, client, tempfile.TemporaryFile() as file:
        file.write(b"x" * (8 * 1024 * 1024))
        file.flush()
        assert bound_sends(server, 0.5)
        with trickling_reader(client):
            started = time.monotonic()
            with pytest.raises(ClientDisconnected):
                SocketTransport(server, 0.5).sendfile(file, 0, 8 * 1024 * 1024)
            assert time.monotonic() - started < 5


def test_a_reader_that_keeps_up_is_never_cut_and_gets_every_byte() -> None:
    server, client = tcp_pair(small_receive_buffer=False)
    data = bytes(range(256)) * 32768  # 8 MiB: more than the kernel buffers at once
    received = bytearray()

    def read_all() -> None:
        while len(received) < len(data) and (piece := client.recv(65536)):
            received.extend(piece)

    with server, client:
        assert bound_sends(server, 2)
        reader = threading.Thread(target=read_all)
        reader.start()
        SocketTransport(server, 2).send(data)
        reader.join(10)
    assert bytes(received) == data
