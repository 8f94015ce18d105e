"""The child's side of the contract with its supervisor."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.reload.child import ReloaderChild
from devserver.reload.handoff import CONTROL_FD_ENV, SPAWNED_AT_ENV, ReloadNote, decode_messages, note_from_message
from devserver.reload.watcher import Restart


class Backend:
    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.restart = False

    def shutdown(self, *, restart: bool = False) -> None:
        self.restart = restart
        self.stopped.set()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    supervisor_end, child_end = socket.socketpair()
    with supervisor_end, child_end:
        yield supervisor_end, child_end


def test_from_environ_reads_the_control_socket_spawn_time_and_reason(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    _, child_end = pair
    environ = {
        CONTROL_FD_ENV: str(child_end.fileno()),
        SPAWNED_AT_ENV: "1700000000.5",
        **ReloadNote("shop/views.py changed", 1700000000.0).to_environ(),
    }
    child = ReloaderChild.from_environ(environ)
    assert child.control is not None
    try:
        assert child.control.fileno() == child_end.fileno()
        assert not child.control.get_inheritable()
        assert child.spawned_at == 1700000000.5
        assert child.reload_summary(now=1700000000.25) == "shop/views.py changed, reloaded in 250 ms"
    finally:
        child.control.detach()  # the fixture owns the descriptor


def test_a_first_start_says_nothing_and_a_missing_channel_is_tolerated() -> None:
    child = ReloaderChild.from_environ({CONTROL_FD_ENV: "not-a-number", SPAWNED_AT_ENV: "soon"})
    assert child.control is None
    assert child.spawned_at is None
    assert child.reload_summary() is None
    assert child.watch_supervisor() is None


def test_the_supervisors_death_is_noticed(pair: tuple[socket.socket, socket.socket]) -> None:
    supervisor_end, child_end = pair
    gone = threading.Event()
    blocked: set[int] = set()

    def on_gone() -> None:
        blocked.update(signal.pthread_sigmask(signal.SIG_BLOCK, set()))
        gone.set()

    watcher = ReloaderChild(child_end).watch_supervisor(on_gone=on_gone)
    assert watcher is not None
    assert not gone.is_set()
    supervisor_end.shutdown(socket.SHUT_RDWR)  # what the kernel does when the supervisor dies
    assert gone.wait(10)
    watcher.join(10)
    assert {signal.SIGINT, signal.SIGTERM} <= blocked  # they go to the main thread, which handles them


def test_a_restart_tells_the_supervisor_why_then_stops_the_backend(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor_end, child_end = pair
    monkeypatch.chdir(tmp_path)
    child, backend = ReloaderChild(child_end), Backend()
    child.request_restart(Restart(tmp_path / "shop" / "views.py", changed=3, waited=0.05), backend)
    assert backend.stopped.is_set()
    assert backend.restart  # a restart, not a stop: the backend may hand over what it holds
    assert child.restarting
    supervisor_end.settimeout(10)
    [message] = decode_messages(supervisor_end.recv(4096))
    note = note_from_message(message)
    assert note is not None
    assert note.reason == "shop/views.py changed (and 2 more)"
    assert child.restart == note
