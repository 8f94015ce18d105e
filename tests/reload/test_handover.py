"""Connections carried over a control socket, descriptor and all, between real sockets."""

from __future__ import annotations

import array
import contextlib
import socket
from collections.abc import Iterator

import pytest

from devserver.backends.adoption import HandedConnection
from devserver.reload.handoff import READY, RESTART, encode_message
from devserver.reload.handover import (
    CONNECTION,
    RELEASED,
    ControlHandover,
    ControlReader,
    ControlWriter,
    released_message,
)

SOL, RIGHTS = socket.SOL_SOCKET, socket.SCM_RIGHTS


@pytest.fixture
def control() -> Iterator[tuple[socket.socket, socket.socket]]:
    sender, receiver = socket.socketpair()
    with sender, receiver:
        receiver.settimeout(10)
        yield sender, receiver


@pytest.fixture
def tcp() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A real TCP connection: (the server's side, the client's side)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2], timeout=10)
        server, _ = listener.accept()
    with server, client:
        yield server, client


def read_all(reader: ControlReader, count: int) -> list[tuple[dict[str, object], HandedConnection | None]]:
    messages: list[tuple[dict[str, object], HandedConnection | None]] = []
    while len(messages) < count:
        batch = reader.read()
        assert batch is not None, "end of stream"
        messages += batch
    return messages


def test_a_connection_travels_with_what_was_read_of_its_next_request(
    control: tuple[socket.socket, socket.socket], tcp: tuple[socket.socket, socket.socket]
) -> None:
    sender, receiver = control
    server_side, client = tcp
    head = b"GET /hello/ HTTP/1.1\r\nHo"
    assert ControlHandover(ControlWriter(sender)).give(HandedConnection(server_side, ("127.0.0.1", 5123), head))
    assert server_side.fileno() == -1  # sent, so closed here
    reader = ControlReader(receiver)
    [(message, connection)] = read_all(reader, 1)
    assert connection is not None
    with connection.sock:
        assert message["event"] == CONNECTION
        assert connection.client == ("127.0.0.1", 5123)
        assert connection.received == head
        connection.sock.sendall(b"from the new owner")
        assert client.recv(100) == b"from the new owner"  # the very same TCP connection
        assert not connection.sock.get_inheritable()
    reader.close()


def test_connections_and_other_messages_keep_their_order(
    control: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = control
    writer = ControlWriter(sender)
    handover = ControlHandover(writer)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        writer.send(encode_message(READY, adopts=True))
        for number, (mine, _) in enumerate(pairs):
            assert handover.give(HandedConnection(mine, ("127.0.0.1", number), b""))
            writer.send(encode_message(RESTART, reason=f"after {number}", started=0))
        writer.send(released_message())
        reader = ControlReader(receiver)
        messages = read_all(reader, 8)
        assert [message["event"] for message, _ in messages] == [READY, *[CONNECTION, RESTART] * 3, RELEASED]
        for number, (_, peer) in enumerate(pairs):
            _, connection = messages[1 + 2 * number]
            assert connection is not None
            with connection.sock:
                assert connection.client == ("127.0.0.1", number)
                connection.sock.sendall(str(number).encode())
                assert peer.recv(10) == str(number).encode()  # each message got its own descriptor
        reader.close()
    finally:
        for mine, peer in pairs:
            mine.close()
            peer.close()


def test_a_socket_wrapped_by_this_process_is_not_handed_over(control: tuple[socket.socket, socket.socket]) -> None:
    class Wrapped(socket.socket):
        """As ``ssl.SSLSocket`` is: state in this process that the descriptor does not carry."""

    sender, _ = control
    with Wrapped() as wrapped:
        assert not ControlHandover(ControlWriter(sender)).give(HandedConnection(wrapped, ("127.0.0.1", 1)))
        assert wrapped.fileno() != -1  # still the caller's


def test_a_descriptor_whose_message_never_came_is_closed(
    control: tuple[socket.socket, socket.socket], tcp: tuple[socket.socket, socket.socket]
) -> None:
    sender, receiver = control
    server_side, client = tcp
    descriptor = array.array("i", [server_side.fileno()])
    sender.sendmsg([b'{"event": "connection", "client": ["127.0.0.1", 1], "recei'], [(SOL, RIGHTS, descriptor)])
    server_side.close()
    sender.shutdown(socket.SHUT_WR)  # the sender died mid-message
    reader = ControlReader(receiver)
    while (batch := reader.read()) is not None:
        assert batch == []
    reader.close()
    assert client.recv(10) == b""  # the last descriptor of the connection is gone: the client sees the end


def test_a_message_cut_short_breaks_the_writer(control: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = control
    writer = ControlWriter(sender, timeout=0.2)
    with pytest.raises(TimeoutError):
        writer.send(b"x" * (16 << 20) + b"\n")  # far more than the socket buffer: sent in part
    receiver.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while receiver.recv(1 << 20):
            pass
    with pytest.raises(BrokenPipeError):
        writer.send(released_message())  # the peer would read it as the end of a broken line
