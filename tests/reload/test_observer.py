"""watchdog glue, against the real file system (events awaited with deadlines)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.events import DirModifiedEvent, FileMovedEvent

from devserver.reload.observer import ChangeHandler, ObserverFactory, RunningObserver
from devserver.reload.paths import PathRules, plan_watches

DEADLINE = 10.0


class Received:
    def __init__(self) -> None:
        self.paths: queue.SimpleQueue[Path] = queue.SimpleQueue()

    def until(self, wanted: Path) -> list[Path]:
        """Every path received up to and including ``wanted`` (fails after the deadline)."""
        seen = []
        while True:
            path = self.paths.get(timeout=DEADLINE)
            seen.append(path)
            if path == wanted:
                return seen


def watch(tmp_path: Path, received: Received, *, force_polling: bool = False) -> RunningObserver:
    plan = plan_watches([tmp_path], [], PathRules())
    return ObserverFactory(force_polling=force_polling).start(plan, ChangeHandler(received.paths.put, lambda _: True))


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
def native(tmp_path: Path, received: Received) -> Iterator[RunningObserver]:
    (tmp_path / "read_me.py").write_text("x = 1\n")
    running = watch(tmp_path, received)
    yield running
    running.stop()


def test_a_write_reaches_the_handler(tmp_path: Path, received: Received, native: RunningObserver) -> None:
    assert native.warning is None
    assert native.method != "polling"
    target = tmp_path / "views.py"
    target.write_text("print('hi')\n")
    assert target in received.until(target)


def test_reading_a_file_is_not_a_change(tmp_path: Path, received: Received, native: RunningObserver) -> None:
    (tmp_path / "read_me.py").read_text()  # an open and a close, which watchdog 7 could report
    marker = tmp_path / "marker.py"
    marker.write_text("")
    assert tmp_path / "read_me.py" not in received.until(marker)  # inotify keeps event order


def test_an_atomic_save_reports_the_saved_file(tmp_path: Path, received: Received, native: RunningObserver) -> None:
    temporary, target = tmp_path / ".views.py.tmp1234", tmp_path / "views.py"
    temporary.write_text("x = 2\n")
    temporary.replace(target)
    assert target in received.until(target)


def test_a_new_subdirectory_of_a_recursive_watch_is_watched(
    tmp_path: Path, received: Received, native: RunningObserver
) -> None:
    package = tmp_path / "blog"
    package.mkdir()
    module = package / "models.py"
    module.write_text("")
    assert module in received.until(module)


def test_polling_when_forced(tmp_path: Path, received: Received) -> None:
    running = watch(tmp_path, received, force_polling=True)
    try:
        assert running.method == "polling"
        assert running.warning is None
        target = tmp_path / "views.py"
        target.write_text("")
        assert target in received.until(target)
    finally:
        running.stop()


def test_the_handler_drops_directory_events_and_rejected_paths() -> None:
    received: list[Path] = []
    handler = ChangeHandler(received.append, accept=lambda path: path.suffix == ".py")
    handler.dispatch(DirModifiedEvent("/p/shop"))
    handler.dispatch(FileMovedEvent("/p/shop/views.py", "/p/shop/views.bak"))
    handler.dispatch(FileMovedEvent("/p/shop/.x.tmp", "/p/shop/x.py"))
    assert received == [Path("/p/shop/views.py"), Path("/p/shop/x.py")]
