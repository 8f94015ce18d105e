"""Connections the supervisor holds between two children."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devserver.backends.adoption import HandedConnection
from devserver.reload.held import HeldConnections


class Child:
    def __init__(self, *, adopts: bool = True, takes: int = 99) -> None:
        self.adopts = adopts
        self.taken: list[HandedConnection] = []
        self._takes = takes

    def send_connection(self, connection: HandedConnection) -> bool:
        if len(self.taken) >= self._takes:
            return False  # it died meanwhile
        self.taken.append(connection)
        connection.close()  # as a real send does
        return True


@pytest.fixture
def connections() -> Iterator[list[tuple[HandedConnection, socket.socket]]]:
    pairs = [socket.socketpair() for _ in range(3)]
    yield [(HandedConnection(mine, ("127.0.0.1", n)), peer) for n, (mine, peer) in enumerate(pairs)]
    for mine, peer in pairs:
        mine.close()
        peer.close()


def test_a_child_that_serves_gets_them_all(connections: list[tuple[HandedConnection, socket.socket]]) -> None:
    held = HeldConnections()
    held.hold_all(connection for connection, _ in connections)
    child = Child()
    held.pass_to(child)
    assert child.taken == [connection for connection, _ in connections]
    assert len(held) == 0


def test_those_a_child_could_not_take_stay_held(connections: list[tuple[HandedConnection, socket.socket]]) -> None:
    held = HeldConnections()
    held.hold_all(connection for connection, _ in connections)
    held.pass_to(Child(takes=1))
    assert len(held) == 2
    assert held.take() == [connection for connection, _ in connections[1:]]


def test_a_child_that_cannot_adopt_gets_none_and_they_are_closed(
    connections: list[tuple[HandedConnection, socket.socket]],
) -> None:
    held = HeldConnections()
    for connection, _ in connections:
        held.hold(connection)
    child = Child(adopts=False)
    held.pass_to(child)
    assert child.taken == []
    assert len(held) == 0
    for _, peer in connections:
        assert peer.recv(1) == b""  # closed, once
