"""One child process seen from the supervisor: its events, its stderr, its signals."""

from __future__ import annotations

import queue
import signal
import socket
import sys
from collections.abc import Iterator
from types import FrameType

import pytest

from devserver.reload.process import (
    ChildExited,
    ChildProcess,
    ChildReady,
    ChildSettled,
    ConnectionHanded,
    ProcessEvent,
    ctrl_c_held,
    exit_description,
)

SCRIPT = """
import os, signal, socket, sys
control = socket.socket(fileno=int(os.environ["DEVSERVER_CONTROL_FD"]))
control.sendall(b'{"event": "ready"}\\n{"event": "settled"}\\n')
blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
sys.stderr.write(f"SIGINT blocked: {blocked}\\nboom\\n")
sys.exit(5)
"""

Events = queue.SimpleQueue[ProcessEvent]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def test_a_child_reports_ready_settled_then_its_exit_and_its_stderr_is_kept(listener: socket.socket) -> None:
    events: Events = queue.SimpleQueue()
    child = ChildProcess([sys.executable, "-c", SCRIPT], {}, listener, events)
    received = [events.get(timeout=30) for _ in range(3)]
    child.close()
    assert received == [ChildReady(child), ChildSettled(child), ChildExited(child, 5)]
    assert child.ready
    assert "boom" in child.output()


def test_children_start_with_ctrl_c_held_for_the_supervisor(listener: socket.socket) -> None:
    events: Events = queue.SimpleQueue()
    child = ChildProcess([sys.executable, "-c", SCRIPT], {}, listener, events)
    while not isinstance(events.get(timeout=30), ChildExited):
        pass
    child.close()
    assert "SIGINT blocked: True" in child.output()


def test_a_sigint_during_a_spawn_is_delayed_not_lost() -> None:
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, record)
    try:
        with ctrl_c_held():
            signal.raise_signal(signal.SIGINT)
            assert received == []
        assert received == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    ("returncode", "description"),
    [(1, "exited with status 1"), (-9, "was killed by SIGKILL"), (-200, "exited with status -200")],
)
def test_exits_are_described(returncode: int, description: str) -> None:
    assert exit_description(returncode) == description


HANDING_OVER = """
import array, os, socket
control = socket.socket(fileno=int(os.environ["DEVSERVER_CONTROL_FD"]))
listener = socket.socket(fileno=int(os.environ["LISTEN_FD"]))
client = socket.create_connection(listener.getsockname()[:2])
server_side, address = listener.accept()
control.sendall(b'{"event": "ready", "adopts": true}\\n')
message = b'{"event": "connection", "client": ["127.0.0.1", 4321], "received": "R0U="}\\n'
control.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [server_side.fileno()]))])
client.sendall(b"sent before the child exited")
"""


def test_a_connection_a_child_hands_over_becomes_the_supervisors(listener: socket.socket) -> None:
    events: Events = queue.SimpleQueue()
    env = {"LISTEN_FD": str(listener.fileno())}
    child = ChildProcess([sys.executable, "-c", HANDING_OVER], env, listener, events)
    received = [events.get(timeout=30) for _ in range(3)]
    child.close()
    assert received[0] == ChildReady(child)
    assert child.adopts
    handed = received[1]
    assert isinstance(handed, ConnectionHanded)
    with handed.connection.sock as sock:
        assert handed.connection.client == ("127.0.0.1", 4321)
        assert handed.connection.received == b"GE"
        sock.settimeout(10)
        assert sock.recv(100) == b"sent before the child exited"  # the child's own copy is gone; ours works
    assert received[2] == ChildExited(child, 0)
