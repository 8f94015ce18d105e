"""ServerTLSSocket: a TLS connection with a plain non-blocking socket's manners."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time

import pytest

from devserver.tls.connection import ServerTLSSocket
from devserver.tls.handshake import complete, wrap

TIMEOUT = 10.0


def test_the_context_wraps_into_a_server_tls_socket(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, _ = tls_pair
    assert isinstance(server, ServerTLSSocket)
    assert server.gettimeout() == 0.0  # non-blocking: every wait is the caller's


def test_nothing_yet_is_blocking_io_error_as_on_a_plain_socket(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, _ = tls_pair
    with pytest.raises(BlockingIOError):
        server.recv(65536, socket.MSG_DONTWAIT)  # the flag a plain path passes is taken, and ignored


def test_half_a_record_is_not_data_yet(
    tcp: tuple[socket.socket, socket.socket], context: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    raw_server, raw_client = tcp
    server = wrap(context, raw_server)
    handshake = threading.Thread(target=complete, args=(server, time.monotonic() + TIMEOUT))
    handshake.start()
    client = handshake_over_memory(raw_client, trusting)
    handshake.join(TIMEOUT)
    record = encrypt(client, b"x" * 100)
    raw_client.sendall(record[:50])
    assert wait_readable(server)
    with pytest.raises(BlockingIOError):  # bytes arrived, but no whole record: not b"" (EOF)
        server.recv(65536)
    raw_client.sendall(record[50:])
    assert wait_and_read(server) == b"x" * 100
    server.close()


def test_a_read_returns_every_decrypted_byte(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    """A read smaller than a record leaves nothing behind for a wait on the descriptor to miss."""
    server, client = tls_pair
    client.sendall(b"y" * 10_000)  # one record
    received = wait_and_read(server, size=100)
    assert received == b"y" * 10_000
    assert server.pending() == 0


def test_close_says_goodbye_in_tls(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    server.close()
    assert client.recv(100) == b""  # close_notify; a bare FIN would raise SSLEOFError


def test_a_cut_is_not_a_goodbye(tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket]) -> None:
    server, client = tls_pair
    server.shutdown(socket.SHUT_RDWR)
    with pytest.raises(ssl.SSLEOFError):
        client.recv(100)
    server.close()  # the goodbye cannot go out any more: no error either


def test_half_closing_says_goodbye_then_drains_what_the_client_still_sends(
    tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket],
) -> None:
    """After an error response the server half-closes and reads on, to drop what the client
    still sends, so that closing does not reset the connection before the client read the
    answer. Bytes the client was sending at that moment must not end the drain early."""
    server, client = tls_pair
    client.sendall(b"a" * 100_000)  # still unread when the server half-closes
    wait_readable(server)
    server.shutdown(socket.SHUT_WR)
    sending = threading.Thread(target=client.sendall, args=(b"b" * 100_000,))
    sending.start()
    drained = 0
    server.settimeout(TIMEOUT)
    while drained < 100_000:  # the second part's bytes, at least, arrive to be dropped
        chunk = server.recv(65536)
        assert chunk, f"the drain ended after {drained} bytes, while the client was still sending"
        drained += len(chunk)
    sending.join(TIMEOUT)
    assert client.recv(100) == b""  # our close_notify came first
    client.close()
    while server.recv(65536):
        pass  # until the client's end


def test_shutdown_from_another_thread_leaves_the_writer_an_os_error(
    tls_pair: tuple[ServerTLSSocket, ssl.SSLSocket],
) -> None:
    """A cut happens on another thread while the writing one may be inside ``send``: it must see
    an OSError (the client is gone), never a TLS object that vanished under it."""
    server, _ = tls_pair
    errors: list[BaseException] = []
    cut = threading.Event()

    def write() -> None:
        try:
            while True:
                try:
                    server.send(b"z" * 65536)
                except ssl.SSLWantWriteError:
                    cut.wait(0.01)
        except BaseException as error:
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    server.shutdown(socket.SHUT_RDWR)
    cut.set()
    writer.join(TIMEOUT)
    assert len(errors) == 1
    assert isinstance(errors[0], OSError), errors[0]


def wait_readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], TIMEOUT)[0])


def wait_and_read(server: ServerTLSSocket, size: int = 65536) -> bytes:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        wait_readable(server)
        try:
            return server.recv(size)
        except BlockingIOError:
            continue
    raise AssertionError("nothing to read")


def handshake_over_memory(
    raw: socket.socket, trusting: ssl.SSLContext
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """A client whose records the test cuts where it likes: TLS over memory, bytes over ``raw``."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = trusting.wrap_bio(incoming, outgoing, server_hostname="localhost")
    while True:
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            raw.sendall(outgoing.read())
            incoming.write(raw.recv(65536))
            continue
        raw.sendall(outgoing.read())
        return client, incoming, outgoing


def encrypt(client: tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO], data: bytes) -> bytes:
    tls, _, outgoing = client
    tls.write(data)
    return outgoing.read()
