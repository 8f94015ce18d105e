"""The supervisor's loop with real processes (a scripted child) on a real socket."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devserver.conf import ServerConfig
from devserver.listener import LISTEN_FD_ENV
from devserver.readiness import SUPERVISOR_PID_ENV
from devserver.reload.handoff import RELOAD_REASON_ENV, RELOAD_STARTED_ENV, ReloadNote
from devserver.reload.process import interpreter_prefix
from devserver.reload.supervisor import Supervisor

FAKE_CHILD = Path(__file__).with_name("fake_child.py")
DEADLINE = 30.0


class Running:
    """A supervisor serving on a thread, over a project directory it watches after crashes."""

    def __init__(self, tmp_path: Path, behaviours: list[str], *, spares: bool = False) -> None:
        self.project = tmp_path / "project"
        self.project.mkdir()
        (self.project / "app.py").write_text("")
        plan = tmp_path / "plan.json"
        plan.write_text(json.dumps({"started": 0, "behaviours": behaviours}))
        os.environ["FAKE_CHILD_PLAN"] = str(plan)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.messages: list[str] = []
        self.supervisor = Supervisor(
            self.listener,
            ServerConfig(reload_delay_ms=20, shutdown_timeout=5),
            write=self.messages.append,
            command=[*interpreter_prefix(), str(FAKE_CHILD)],  # as Django's get_child_arguments() starts it
            spares=spares,
            module_files=lambda: [self.project / "app.py"],
        )
        self.status: list[int] = []
        self.thread = threading.Thread(target=lambda: self.status.append(self.supervisor.serve()))
        self.thread.start()

    def ask(self, request: bytes = b"who") -> dict[str, Any]:
        with socket.create_connection(self.address, timeout=DEADLINE) as client:
            client.sendall(request)
            answer: dict[str, Any] = json.loads(client.makefile("rb").readline())
            return answer

    def get_page(self) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.address[1], timeout=DEADLINE)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def probe(self) -> str | int:
        """``"page"`` if the crash page answers, else the number of the child that does."""
        with socket.create_connection(self.address, timeout=DEADLINE) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            line = client.makefile("rb").readline()
        if line.startswith(b"HTTP/1.1 500"):
            return "page"
        number: int = json.loads(line)["number"]
        return number

    def stop(self) -> int:
        self.supervisor.request_stop()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive()
        self.listener.close()
        return self.status[0]


Start = Callable[..., Running]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """``start("crash", "serve", spares=True)``: a supervisor whose Nth child does the Nth thing."""
    started: list[Running] = []

    def make(*behaviours: str, spares: bool = False) -> Running:
        started.append(Running(tmp_path, list(behaviours) or ["serve"], spares=spares))
        return started[-1]

    yield make
    for running in started:
        if running.thread.is_alive():
            running.stop()
        running.listener.close()
    os.environ.pop("FAKE_CHILD_PLAN", None)


def gone(pid: int) -> bool:
    """Exited (a zombie left to a parent that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_child_gets_the_socket_and_the_reloader_environment(start: Start) -> None:
    running = start()
    about = running.ask()
    assert about["number"] == 1
    assert about["run_main"] == "true"
    assert about["supervisor"] == str(os.getpid())
    assert about["reason"] is None


def test_a_restart_request_starts_the_next_child_with_the_reason(start: Start) -> None:
    running = start("serve", "serve")
    first = running.ask(b"restart")
    second = running.ask()
    assert (first["number"], second["number"]) == (1, 2)
    assert second["reason"] == "app.py changed"
    assert running.stop() == 0
    assert gone(first["pid"])
    assert gone(second["pid"])


def test_after_a_crash_requests_get_the_traceback_until_a_source_file_changes(start: Start) -> None:
    running = start("crash", "serve")
    status, page = running.get_page()
    assert status == 500
    assert b"RuntimeError: fake crash 1" in page
    assert b"exited with status 1" in page
    assert any("exited with status 1" in message for message in running.messages)
    (running.project / "notes.txt").write_text("not source")  # no restart for this
    (running.project / "app.py").write_text("fixed = True\n")
    deadline = time.monotonic() + DEADLINE
    while (answer := running.probe()) == "page":
        assert time.monotonic() < deadline, "no restart after the fix"
    assert answer == 2
    assert running.stop() == 0


def test_a_crash_does_not_spin(start: Start) -> None:
    running = start("crash", "crash", "serve")
    assert running.get_page()[0] == 500
    assert running.get_page()[0] == 500
    plan = json.loads(Path(os.environ["FAKE_CHILD_PLAN"]).read_text())
    assert plan["started"] == 1  # one process, then it waits for a change
    assert running.stop() == 0


def test_a_child_killed_by_a_signal_is_reported_by_name(start: Start) -> None:
    running = start("killed")
    status, page = running.get_page()
    assert status == 500
    assert b"killed by SIGKILL" in page


def test_a_child_that_exits_cleanly_by_itself_ends_the_supervisor(start: Start) -> None:
    running = start()
    running.ask(b"exit0")
    running.thread.join(DEADLINE)
    assert running.status == [0]


def test_stopping_ends_every_child(start: Start) -> None:
    running = start()
    pid = running.ask()["pid"]
    assert running.stop() == 0
    assert gone(pid)
    assert running.supervisor.children == set()


def test_stopping_during_a_crash_ends_at_once(start: Start) -> None:
    running = start("crash")
    assert running.get_page()[0] == 500
    assert running.stop() == 0


def test_the_next_child_runs_in_the_warm_spare(start: Start) -> None:
    running = start("serve", "serve", spares=True)
    first = running.ask(b"restart")
    second = running.ask()
    assert not first["spare"]
    assert second["spare"]
    assert second["reason"] == "app.py changed"
    assert running.stop() == 0
    assert running.supervisor.children == set()


def test_no_spare_starts_before_the_child_has_settled(start: Start) -> None:
    """A spare setting up takes a core: it waits until the child's first response is out and its
    watch list built (it says "settled"), so it never slows them."""
    running = start("unsettled", "serve", spares=True)
    first = running.ask(b"restart")
    second = running.ask()
    assert (first["number"], first["spare"]) == (1, False)
    assert (second["number"], second["spare"]) == (2, False)  # none was started for it
    assert running.stop() == 0


def test_a_spare_that_fails_where_a_fresh_child_works_is_not_used_again(start: Start) -> None:
    running = start("serve", "crash-in-spare", "serve", spares=True)
    running.ask(b"restart")
    third = running.ask()  # the spare crashed: retried in a fresh process, no error page
    assert third["number"] == 3
    assert not third["spare"]
    assert running.stop() == 0  # the loop has handled every event before it (third's "ready" too)
    assert any("spares are off" in message for message in running.messages)


def test_the_child_environment_carries_the_socket_pid_and_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RELOAD_REASON_ENV, "stale, from a parent of ours")
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        contextlib.closing(Supervisor(listener, ServerConfig(), write=print, command=["python"])) as supervisor,
    ):
        first = supervisor.child_environ(None)
        later = supervisor.child_environ(ReloadNote("a.py changed", 12.5))
        assert first[LISTEN_FD_ENV] == str(listener.fileno())
    assert first["RUN_MAIN"] == "true"
    assert first[SUPERVISOR_PID_ENV] == str(os.getpid())
    assert RELOAD_REASON_ENV not in first
    assert (later[RELOAD_REASON_ENV], later[RELOAD_STARTED_ENV]) == ("a.py changed", "12.5")


def test_a_second_stop_request_forces_the_exit_with_status_1(start: Start) -> None:
    running = start("drain")
    pid = running.ask()["pid"]
    running.supervisor.request_stop()
    running.supervisor.request_stop()  # the child drains forever after the first; this one cuts it
    running.thread.join(DEADLINE)
    assert running.status == [1]
    assert gone(pid)


def test_a_childs_reported_configuration_replaces_the_supervisors(start: Start) -> None:
    running = start("config")
    running.ask()
    deadline = time.monotonic() + DEADLINE
    while running.supervisor.config.shutdown_timeout != 0.5:
        assert time.monotonic() < deadline, running.supervisor.config
        time.sleep(0.01)
    assert running.stop() == 0


def test_a_bad_setting_at_launch_ends_the_supervisor_with_status_2(start: Start) -> None:
    running = start("usage", "serve")
    running.thread.join(DEADLINE)
    assert running.status == [2]
    plan = json.loads(Path(os.environ["FAKE_CHILD_PLAN"]).read_text())
    assert plan["started"] == 1
    assert running.messages == []  # the child said what was wrong; nothing to add


def test_a_bad_setting_after_a_crash_is_an_error_page_like_any_other(start: Start) -> None:
    running = start("crash", "usage", "serve")
    assert running.get_page()[0] == 500
    (running.project / "app.py").write_text("fixed = True\n")
    deadline = time.monotonic() + DEADLINE
    while b"exited with status 2" not in running.get_page()[1]:
        assert time.monotonic() < deadline, "the second child's exit was not shown"
    assert running.stop() == 0


def test_a_connection_handed_over_by_a_restarting_child_is_answered_by_the_next(start: Start) -> None:
    running = start("serve", "serve")
    with socket.create_connection(running.address, timeout=DEADLINE) as client:
        client.sendall(b"handover")
        answer = json.loads(client.makefile("rb").readline())
    assert answer["number"] == 2
    assert running.stop() == 0


def test_when_the_next_child_crashes_the_error_page_answers_a_held_connection(start: Start) -> None:
    running = start("serve", "crash", "serve")
    with socket.create_connection(running.address, timeout=DEADLINE) as client:
        client.sendall(b"handover")
        assert running.get_page()[0] == 500  # the next child crashed
        client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        assert client.makefile("rb").readline().startswith(b"HTTP/1.1 500")
    assert running.stop() == 0


def test_held_connections_are_closed_when_the_supervisor_stops(start: Start) -> None:
    running = start("serve", "crash")
    with socket.create_connection(running.address, timeout=DEADLINE) as client:
        client.sendall(b"handover")
        assert running.get_page()[0] == 500  # the next child crashed: the error page holds it now
        assert running.stop() == 0
        assert client.recv(100) == b""  # closed, not left open by a supervisor that is gone


def test_the_import_spare_starts_once_the_set_up_spare_is_set_up(start: Start) -> None:
    running = start("serve", spares=True)
    running.ask()
    deadline = time.monotonic() + DEADLINE
    while running.supervisor.spare is None:  # the supervisor's own state, polled with a deadline
        assert time.monotonic() < deadline, "no import spare was started"
        time.sleep(0.01)
    assert running.supervisor.warm is not None
    assert running.stop() == 0
