"""Sending on a socket whose writes are bounded by SO_SNDTIMEO."""

from __future__ import annotations

import socket
import tempfile
import time

import pytest

from devserver.backends.transport import SocketTransport, bound_sends
from devserver.wsgi.gateway import ClientDisconnected


def test_sendfile_to_a_client_that_stopped_reading_gives_up_at_the_send_timeout() -> None:
    server, client = socket.socketpair()
    with server, client, tempfile.TemporaryFile() as file:
        file.write(b"x" * (32 * 1024 * 1024))
        file.flush()
        bound_sends(server, 0.5)
        started = time.monotonic()
        with pytest.raises(ClientDisconnected):
            SocketTransport(server).sendfile(file, 0, 32 * 1024 * 1024)
        assert time.monotonic() - started < 10


def test_sendfile_sends_the_range_asked_for() -> None:
    server, client = socket.socketpair()
    with server, client, tempfile.TemporaryFile() as file:
        file.write(b"0123456789")
        file.flush()
        bound_sends(server, 5)
        assert SocketTransport(server).sendfile(file, 2, 5) == 5
        assert client.recv(100) == b"23456"
        assert file.tell() == 7
