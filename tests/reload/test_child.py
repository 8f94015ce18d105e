"""The child's side of the contract with its supervisor."""

from __future__ import annotations

import queue
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished
from pytest_django import DjangoDbBlocker

from devserver.backends.adoption import ConnectionHandover, HandedConnection
from devserver.conf import ServerConfig
from devserver.reload import child as child_module
from devserver.reload.child import FirstResponse, ReloaderChild
from devserver.reload.handoff import CONTROL_FD_ENV, SPAWNED_AT_ENV, ReloadNote, decode_messages, note_from_message
from devserver.reload.handover import ControlHandover, ControlReader, ControlWriter, released_message
from devserver.reload.watcher import Restart, WatchdogReloader


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


class AdoptingBackend(Backend):
    def __init__(self, *, adopts: bool = True) -> None:
        super().__init__()
        self.handover: ConnectionHandover | None = None
        self.adopted: queue.SimpleQueue[HandedConnection] = queue.SimpleQueue()
        self._adopts = adopts

    def adopt(self, connection: HandedConnection) -> bool:
        if not self._adopts:
            return False
        self.adopted.put(connection)
        return True


@pytest.fixture
def tcp() -> Iterator[tuple[socket.socket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname()[:2], timeout=10)
        server_side, _ = listener.accept()
    with client:
        yield server_side, client
    server_side.close()


def test_connections_from_the_supervisor_are_adopted_by_the_backend(
    pair: tuple[socket.socket, socket.socket], tcp: tuple[socket.socket, socket.socket]
) -> None:
    supervisor_end, child_end = pair
    child, backend = ReloaderChild(child_end), AdoptingBackend()
    assert child.take_part_in_handovers(backend)
    assert backend.handover is not None
    watcher = child.watch_supervisor(on_gone=lambda: None)
    server_side, client = tcp
    assert ControlHandover(ControlWriter(supervisor_end)).give(HandedConnection(server_side, ("127.0.0.1", 7), b"GE"))
    adopted = backend.adopted.get(timeout=10)
    with adopted.sock:
        assert (adopted.client, adopted.received) == (("127.0.0.1", 7), b"GE")
        adopted.sock.sendall(b"adopted")
        assert client.recv(10) == b"adopted"
    supervisor_end.shutdown(socket.SHUT_RDWR)
    assert watcher is not None
    watcher.join(10)


def test_a_restarting_child_gives_back_what_it_is_sent_and_leaves_once_released(
    pair: tuple[socket.socket, socket.socket],
    tcp: tuple[socket.socket, socket.socket],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supervisor_end, child_end = pair
    monkeypatch.chdir(tmp_path)
    child, backend = ReloaderChild(child_end), AdoptingBackend(adopts=False)  # a stopping backend refuses
    assert child.take_part_in_handovers(backend)
    watcher = child.watch_supervisor(on_gone=lambda: None)
    child.request_restart(Restart(tmp_path / "views.py", changed=1, waited=0.0), backend)
    server_side, client = tcp
    writer = ControlWriter(supervisor_end)
    assert ControlHandover(writer).give(HandedConnection(server_side, ("127.0.0.1", 8)))
    writer.send(released_message())
    reader = ControlReader(supervisor_end)
    messages: list[tuple[dict[str, object], HandedConnection | None]] = []
    while len(messages) < 2:
        batch = reader.read()
        assert batch is not None
        messages += batch
    (restart, _), (_, given_back) = messages
    assert restart["event"] == "restart"
    assert given_back is not None  # back to the supervisor, for the next child
    with given_back.sock:
        given_back.sock.sendall(b"back")
        assert client.recv(10) == b"back"
    started = time.monotonic()
    child.leave(timeout=30)
    assert time.monotonic() - started < 10  # released: no waiting for the timeout
    supervisor_end.shutdown(socket.SHUT_RDWR)
    assert watcher is not None
    watcher.join(10)
    reader.close()


def test_a_child_whose_backend_cannot_adopt_closes_what_it_is_sent(
    pair: tuple[socket.socket, socket.socket], tcp: tuple[socket.socket, socket.socket]
) -> None:
    supervisor_end, child_end = pair
    child = ReloaderChild(child_end)
    assert not child.take_part_in_handovers(Backend())
    watcher = child.watch_supervisor(on_gone=lambda: None)
    server_side, client = tcp
    assert ControlHandover(ControlWriter(supervisor_end)).give(HandedConnection(server_side, ("127.0.0.1", 9)))
    assert client.recv(10) == b""
    supervisor_end.shutdown(socket.SHUT_RDWR)
    assert watcher is not None
    watcher.join(10)


def finish_a_request(django_db_blocker: DjangoDbBlocker) -> None:
    """What Django does once a response is done (its own receivers may close database connections)."""
    with django_db_blocker.unblock():
        request_finished.send(sender=None)


def listening_for_first_response() -> bool:
    return any("FirstResponse" in repr(receiver) for receiver in request_finished.receivers)


def test_the_first_response_is_the_end_of_djangos_first_request(django_db_blocker: DjangoDbBlocker) -> None:
    first_response = FirstResponse()
    waiter = threading.Thread(target=first_response.wait, args=(600.0,))
    waiter.start()
    finish_a_request(django_db_blocker)
    waiter.join(10)
    assert not waiter.is_alive()  # woken by the request, not by its 600 s timeout
    assert not listening_for_first_response()


def test_without_a_request_the_wait_ends_at_its_timeout() -> None:
    FirstResponse().wait(0.01)
    assert not listening_for_first_response()


class Watching:
    """The child's watcher thread, observed: its wait for the first response is the test's to
    end, and it watches nothing for real."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, hold: bool = True) -> None:
        self.waiting = threading.Event()
        self.release = threading.Event()
        self.observing = threading.Event()
        self.done = threading.Event()
        if hold:
            monkeypatch.setattr(FirstResponse, "wait", self._wait)  # a bound method: called without the instance
        monkeypatch.setattr(WatchdogReloader, "start_observing", lambda reloader: self.observing.set())
        monkeypatch.setattr(WatchdogReloader, "run_loop", lambda reloader: self.done.set())

    def _wait(self, timeout: float) -> None:
        self.waiting.set()
        self.release.wait(30)


def test_the_watcher_lists_nothing_and_says_nothing_until_the_first_response(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing what to watch takes a while on a large project, and so does a spare setting up:
    neither may slow the response a developer who just saved is waiting for. The watcher then
    says "settled" (the supervisor starts the next spares) and catches up on what changed."""
    watching = Watching(monkeypatch)
    supervisor = pair[0]
    supervisor.settimeout(10)
    ReloaderChild(pair[1]).serving(Backend(), ServerConfig(), warn=lambda message: None)
    assert watching.waiting.wait(10)
    assert supervisor.recv(1024) == b'{"event": "ready", "adopts": false}\n'
    supervisor.setblocking(False)
    with pytest.raises(BlockingIOError):
        supervisor.recv(1024)  # not "settled" yet
    assert not watching.observing.is_set()
    watching.release.set()
    supervisor.settimeout(10)
    assert supervisor.recv(1024) == b'{"event": "settled"}\n'
    assert watching.observing.is_set()
    assert watching.done.wait(10)


def test_without_a_request_the_watcher_starts_anyway(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child_module, "WATCH_AFTER", 0.01)
    watching = Watching(monkeypatch, hold=False)
    ReloaderChild(pair[1]).serving(Backend(), ServerConfig(), warn=lambda message: None)
    assert watching.observing.wait(10)
    assert watching.done.wait(10)
