"""The child's watcher, stepped with ``tick()``: fake observers, fake events, a fake clock."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils.autoreload import file_changed
from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingEmitter, PollingObserver

from devserver.reload.observer import EVENT_FILTER, ObserverFactory
from devserver.reload.paths import PathRules, Watch
from devserver.reload.watcher import Restart, WatchdogReloader

DELAY = 0.0625  # exact in binary, so fake times add up exactly


class RecordingObserver(BaseObserver):
    """Records what it is asked to watch; never starts a thread."""

    fail_with: OSError | None = None

    def __init__(self) -> None:
        BaseObserver.__init__(self, PollingEmitter)  # not PollingObserver's, in the subclass below
        self.scheduled: list[tuple[str, bool]] = []
        self.event_filter: list[type[FileSystemEvent]] | None = None
        self.handler: FileSystemEventHandler | None = None
        self.running = False

    def schedule(
        self,
        event_handler: FileSystemEventHandler,
        path: str | Path,
        *,
        recursive: bool = False,
        event_filter: list[type[FileSystemEvent]] | None = None,
        follow_symlink: bool = False,
    ) -> ObservedWatch:
        self.scheduled.append((str(path), recursive))
        self.handler, self.event_filter = event_handler, event_filter
        return ObservedWatch(path, recursive=recursive)

    def start(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.running = True

    def stop(self) -> None:
        self.running = False

    def join(self, timeout: float | None = None) -> None:
        pass


class RecordingPollingObserver(RecordingObserver, PollingObserver):
    pass


class FullInotify(RecordingObserver):
    fail_with = OSError(errno.ENOSPC, "inotify watch limit reached")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Harness:
    """A reloader over a small project tree, with everything it touches recorded."""

    def __init__(self, root: Path, *, native: type[RecordingObserver] = RecordingObserver, **kwargs: Any) -> None:
        self.root = root
        for relative in ("manage.py", "shop/__init__.py", "shop/views.py", "shop/templates/shop/page.html"):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text("")
        self.clock = FakeClock()
        self.restarts: list[Restart] = []
        self.warnings: list[str] = []
        self.observers: list[RecordingObserver] = []

        def make(kind: type[RecordingObserver]) -> RecordingObserver:
            self.observers.append(kind())
            return self.observers[-1]

        force_polling = kwargs.pop("force_polling", False)
        options: dict[str, Any] = {
            "rules": PathRules(environment=(root / "env",)),
            "delay": DELAY,
            "clock": self.clock,
            "module_files": lambda: [root / "manage.py", root / "shop" / "__init__.py", root / "shop" / "views.py"],
            **kwargs,
        }
        self.reloader = WatchdogReloader(
            on_restart=self.restarts.append,
            observers=ObserverFactory(
                native=lambda: make(native),
                polling=lambda: make(RecordingPollingObserver),
                force_polling=force_polling,
            ),
            warn=self.warnings.append,
            **options,
        )
        self.ticker = self.reloader.tick()

    @property
    def observer(self) -> RecordingObserver:
        return self.observers[-1]

    def start(self) -> Harness:
        next(self.ticker)
        return self

    def emit(self, *events: FileSystemEvent) -> None:
        """Events as watchdog's thread delivers them, then one step to collect them."""
        assert self.observer.handler is not None
        for event in events:
            self.observer.handler.dispatch(event)
        self.step()

    def settle(self) -> None:
        """Let the quiet period pass (on the fake clock) and take one step."""
        self.clock.advance(DELAY)
        self.step()

    def step(self) -> None:
        """One step that never waits: an idle step would wait for the next event."""
        self.reloader.inbox.wake()
        next(self.ticker)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    created = Harness(tmp_path).start()
    yield created
    created.reloader.stop()


def modified(path: Path) -> FileModifiedEvent:
    return FileModifiedEvent(str(path))


def test_a_source_change_restarts_once_the_quiet_period_passes(harness: Harness) -> None:
    views = harness.root / "shop" / "views.py"
    harness.emit(modified(views))
    assert harness.restarts == []
    harness.settle()
    assert harness.restarts == [Restart(views, changed=1, waited=DELAY, paths=(views,))]
    assert harness.reloader.should_stop
    assert not harness.observer.running


def test_a_burst_of_writes_restarts_once(harness: Harness) -> None:
    for number in range(50):
        harness.emit(FileCreatedEvent(str(harness.root / "shop" / f"generated_{number}.py")))
        harness.clock.advance(DELAY / 10)
    assert harness.restarts == []
    harness.settle()
    assert len(harness.restarts) == 1
    assert harness.restarts[0].changed == 50
    assert harness.restarts[0].path == harness.root / "shop" / "generated_0.py"


def test_a_file_that_failed_to_import_or_is_new_still_counts(harness: Harness) -> None:
    broken = harness.root / "shop" / "models.py"  # never in sys.modules: its import failed
    harness.emit(FileModifiedEvent(str(broken)))
    harness.settle()
    assert [restart.path for restart in harness.restarts] == [broken]


def test_a_move_counts_for_its_destination(harness: Harness) -> None:
    views = harness.root / "shop" / "views.py"
    harness.emit(FileMovedEvent(str(harness.root / "shop" / ".views.py.swx"), str(views)))
    harness.settle()
    assert [restart.path for restart in harness.restarts] == [views]


def test_deleting_a_module_restarts(harness: Harness) -> None:
    views = harness.root / "shop" / "views.py"
    harness.emit(FileDeletedEvent(str(views)))
    harness.settle()
    assert [restart.path for restart in harness.restarts] == [views]


@pytest.mark.parametrize(
    "relative",
    [
        "env/lib/python3.11/site-packages/django/views.py",
        ".venv/lib/python3.11/site-packages/x.py",
        "node_modules/pkg/setup.py",
        "lib/site-packages/pkg/mod.py",
        ".git/hooks/pre-commit.py",
        "shop/__pycache__/views.cpython-311.py",
        "shop/.views.py.swp",
        "shop/views.py~",
        "shop/4913",
        "shop/.#views.py",
        "shop/static/shop/site.css",
    ],
)
def test_ignored_and_unwatched_files_never_restart(harness: Harness, relative: str) -> None:
    harness.emit(modified(harness.root / relative))
    harness.settle()
    assert harness.restarts == []
    views = harness.root / "shop" / "views.py"  # the watcher still works, and the batch held only this
    harness.emit(modified(views))
    harness.settle()
    assert harness.restarts == [Restart(views, changed=1, waited=DELAY, paths=(views,))]


@pytest.fixture
def handled_templates() -> Iterator[list[Path]]:
    """A ``file_changed`` receiver that handles HTML files, as Django's template reloader does."""
    seen: list[Path] = []

    def receiver(sender: object, file_path: Path, **kwargs: object) -> bool | None:
        seen.append(file_path)
        return True if file_path.suffix == ".html" else None

    file_changed.connect(receiver, dispatch_uid="test-handled-templates")
    yield seen
    file_changed.disconnect(dispatch_uid="test-handled-templates")


def test_a_change_a_receiver_handles_does_not_restart(tmp_path: Path, handled_templates: list[Path]) -> None:
    harness = Harness(tmp_path)
    harness.reloader.watch_dir(tmp_path / "shop" / "templates", "**/*")  # as autoreload_started receivers do
    harness.start()
    page = tmp_path / "shop" / "templates" / "shop" / "page.html"
    harness.emit(modified(page))
    harness.settle()
    assert handled_templates == [page]
    assert harness.restarts == []
    assert not harness.reloader.should_stop


def test_a_batch_restarts_for_the_change_no_receiver_handles(tmp_path: Path, handled_templates: list[Path]) -> None:
    harness = Harness(tmp_path)
    harness.reloader.watch_dir(tmp_path / "shop" / "templates", "**/*")
    harness.start()
    page, views = tmp_path / "shop" / "templates" / "shop" / "page.html", tmp_path / "shop" / "views.py"
    harness.emit(modified(page), modified(views))
    harness.settle()
    assert handled_templates == [page, views]
    assert [(restart.path, restart.changed) for restart in harness.restarts] == [(views, 2)]


def test_watch_dir_globs_decide_which_files_count(tmp_path: Path, handled_templates: list[Path]) -> None:
    locale = tmp_path / "locale"
    (locale / "de" / "LC_MESSAGES").mkdir(parents=True)
    harness = Harness(tmp_path)
    harness.reloader.watch_dir(locale, "**/*.mo")  # what Django's translation reloader asks for
    harness.start()
    harness.emit(modified(locale / "de" / "LC_MESSAGES" / "django.po"))
    harness.settle()
    assert handled_templates == []
    harness.emit(modified(locale / "de" / "LC_MESSAGES" / "django.mo"))
    harness.settle()
    assert handled_templates == [locale / "de" / "LC_MESSAGES" / "django.mo"]
    assert harness.restarts == []  # Django's translation_file_changed handled it, as with runserver


def test_a_receiver_that_raises_is_logged_and_the_change_restarts(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: object, file_path: Path, **kwargs: object) -> bool:
        raise RuntimeError("receiver bug")

    file_changed.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        with caplog.at_level(logging.ERROR, logger="django.utils.autoreload"):
            harness.emit(modified(harness.root / "shop" / "views.py"))
            harness.settle()
    finally:
        file_changed.disconnect(dispatch_uid="test-broken-receiver")
    assert len(harness.restarts) == 1
    assert "receiver" in caplog.text
    assert "receiver bug" in caplog.text


def test_the_project_receivers_dirs_and_reload_dirs_are_watched(tmp_path: Path) -> None:
    project, extra, docs = tmp_path / "project", tmp_path / "extra", tmp_path / "docs"
    for directory in (project, extra, docs):
        directory.mkdir()
    (tmp_path / "settings.ini").write_text("")
    harness = Harness(project, reload_dirs=[extra])
    harness.reloader.watch_dir(docs, "*.txt")
    harness.reloader.extra_files.add(tmp_path / "settings.ini")
    harness.start()
    assert sorted(harness.observer.scheduled) == sorted(
        [(str(docs), True), (str(extra), True), (str(project), True), (str(tmp_path), False)]
    )
    assert harness.reloader.plan is not None
    assert Watch(project, recursive=True) in harness.reloader.plan.watches


def test_only_changes_are_asked_of_watchdog_never_opens_or_closes(harness: Harness) -> None:
    assert harness.observer.event_filter == EVENT_FILTER
    assert FileOpenedEvent not in EVENT_FILTER
    assert FileClosedEvent not in EVENT_FILTER


def test_files_changed_since_the_spawn_count_as_changes(tmp_path: Path) -> None:
    views = tmp_path / "shop" / "views.py"
    harness = Harness(tmp_path, since=time.time() - 60)  # the tree was written just now
    harness.start()
    harness.emit()
    harness.settle()
    assert len(harness.restarts) == 1
    assert harness.restarts[0].changed == 3  # manage.py, shop/__init__.py, shop/views.py
    assert harness.restarts[0].path in {views, tmp_path / "manage.py", tmp_path / "shop" / "__init__.py"}


def test_files_from_the_future_do_not_restart_forever(tmp_path: Path) -> None:
    harness = Harness(tmp_path, since=time.time() - 60)
    later = time.time() + 3600
    for path in tmp_path.rglob("*.py"):
        os.utime(path, (later, later))
    harness.start()
    harness.emit()
    harness.settle()
    assert harness.restarts == []


def test_a_full_inotify_falls_back_to_polling_with_one_warning(tmp_path: Path) -> None:
    harness = Harness(tmp_path, native=FullInotify).start()
    assert isinstance(harness.observer, PollingObserver)
    assert harness.observer.running
    assert len(harness.warnings) == 1
    assert "inotify watch limit reached" in harness.warnings[0]
    assert "max_user_watches" in harness.warnings[0]
    views = tmp_path / "shop" / "views.py"
    harness.emit(modified(views))
    harness.settle()
    assert [restart.path for restart in harness.restarts] == [views]


def test_reload_poll_polls_without_a_warning(tmp_path: Path) -> None:
    harness = Harness(tmp_path, force_polling=True).start()
    assert [type(observer) for observer in harness.observers] == [RecordingPollingObserver]
    assert harness.warnings == []


def test_stop_wakes_an_idle_step(harness: Harness) -> None:
    finished = threading.Event()

    def step() -> None:
        next(harness.ticker)  # idle: waits with no timeout
        finished.set()

    stepper = threading.Thread(target=step)
    stepper.start()
    harness.reloader.stop()
    assert finished.wait(10)
    stepper.join()
    assert harness.reloader.should_stop


def test_changed_modules_lose_their_cached_bytecode(tmp_path: Path) -> None:
    """Same size, same second: Python would trust the old .pyc; the next child must not."""
    import importlib.util
    import py_compile

    from devserver.reload.changes import forget_bytecode

    module = tmp_path / "views.py"
    module.write_text('TEXT = "edit 0"\n')
    cached = Path(importlib.util.cache_from_source(str(module)))
    py_compile.compile(str(module), cfile=str(cached))
    other = tmp_path / "notes.txt"
    other.write_text("not python")
    assert cached.exists()
    forget_bytecode([module, other, tmp_path / "gone.py"])
    assert not cached.exists()
    assert other.exists()


def test_an_explicit_include_restarts_even_when_a_receiver_handled_it(
    tmp_path: Path, handled_templates: list[Path]
) -> None:
    harness = Harness(tmp_path, rules=PathRules(environment=(tmp_path / "env",), include=("*.html",)))
    harness.reloader.watch_dir(tmp_path / "shop" / "templates", "**/*")
    harness.start()
    page = tmp_path / "shop" / "templates" / "shop" / "page.html"
    harness.emit(modified(page))
    harness.settle()
    assert handled_templates == [page]  # the receivers still ran (template caches reset)
    assert [restart.path for restart in harness.restarts] == [page]
