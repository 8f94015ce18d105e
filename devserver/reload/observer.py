"""watchdog glue: start an observer on a watch plan, native when possible, polling when not.

Used by the child's watcher and by the supervisor while it waits for a fix after a crash.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import watchdog.events
from watchdog.events import (
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .paths import WatchPlan

#: Only these reach us (and, with inotify, only these are asked of the kernel): watchdog 7
#: also reports opens and closes, which every import and every editor causes. ``touch``
#: (a new mtime, nothing written) is an attribute event in watchdog 7, a modification before.
EVENT_FILTER: Final[list[type[FileSystemEvent]]] = [
    FileModifiedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    *([watchdog.events.FileAttribEvent] if hasattr(watchdog.events, "FileAttribEvent") else []),
]
#: Seconds between two scans when polling, as Django's StatReloader.
POLL_INTERVAL: Final = 1.0

_LIMIT_HINTS: Final = {
    errno.ENOSPC: " (raise fs.inotify.max_user_watches to watch natively)",
    errno.EMFILE: " (raise fs.inotify.max_user_instances to watch natively)",
}


class ChangeHandler(FileSystemEventHandler):
    """Turns file events into paths; a move counts for both of its ends."""

    def __init__(self, receive: Callable[[Path], None], accept: Callable[[Path], bool]) -> None:
        super().__init__()
        self._receive = receive
        self._accept = accept

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(os.fsdecode(raw))
                if self._accept(path):
                    self._receive(path)


@dataclass(frozen=True, slots=True)
class RunningObserver:
    observer: BaseObserver
    #: One line for the console when native watching was wanted but is not possible.
    warning: str | None = None

    @property
    def method(self) -> str:
        return "polling" if isinstance(self.observer, PollingObserver) else type(self.observer).__name__

    def stop(self, *, join: bool = True) -> None:
        """Stop watching; without ``join``, the threads finish on their own (a restart
        should not wait for them)."""
        self.observer.stop()
        if join:
            with contextlib.suppress(RuntimeError):  # never started
                self.observer.join()


def _polling_observer() -> BaseObserver:
    return PollingObserver(timeout=POLL_INTERVAL)


class ObserverFactory:
    """Starts observers; ``force_polling`` is ``--reload-poll``."""

    def __init__(
        self,
        *,
        force_polling: bool = False,
        native: Callable[[], BaseObserver] = Observer,
        polling: Callable[[], BaseObserver] = _polling_observer,
    ) -> None:
        self.force_polling = force_polling
        self._native = native
        self._polling = polling

    def start(self, plan: WatchPlan, handler: FileSystemEventHandler) -> RunningObserver:
        warning = None
        if not self.force_polling:
            try:
                observer = self._start(self._native, plan, handler)
            except OSError as error:  # inotify's watch or instance limit, mostly
                reason = error.strerror or str(error)
                hint = _LIMIT_HINTS.get(error.errno or 0, "")
                warning = f"devserver: cannot watch files natively: {reason}; polling for changes instead{hint}."
            else:
                if not isinstance(observer, PollingObserver):
                    return RunningObserver(observer)
                warning = "devserver: native file watching is unavailable here; polling for changes instead."
                return RunningObserver(observer, warning)
        return RunningObserver(self._start(self._polling, plan, handler), warning)

    @staticmethod
    def _start(make: Callable[[], BaseObserver], plan: WatchPlan, handler: FileSystemEventHandler) -> BaseObserver:
        observer = make()
        try:
            for watch in plan.watches:
                observer.schedule(handler, str(watch.directory), recursive=watch.recursive, event_filter=EVENT_FILTER)
            observer.start()
        except BaseException:
            observer.stop()  # emitters that did start, and inotify's reader thread
            raise
        return observer
