"""After a crash: the error page on the held socket, and a watch for the fix.

The supervisor cannot ask the crashed child what it would have watched, so it watches the
project from its own ``sys.modules`` (settings, apps and models are imported there too)
plus ``RELOAD_DIRS``, and counts only source files: a restart needs new code.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..backends.adoption import HandedConnection
from ..conf import ServerConfig
from ..errors import DevserverError
from .changes import Debouncer, forget_bytecode
from .errorpage import ErrorPageServer, crash_details, render_page
from .handoff import ReloadNote, describe_change
from .observer import ChangeHandler, ObserverFactory, RunningObserver
from .paths import PathRules, WatchPlan, files_changed_since, plan_watches, project_directories


def crash_watch_plan(config: ServerConfig, module_files: Iterable[Path]) -> WatchPlan:
    rules = PathRules.for_this_interpreter(include=config.reload_include, exclude=config.reload_exclude)
    files = rules.project_files(module_files)
    directories = [*project_directories(files, rules), *(Path(d).absolute() for d in config.reload_dirs)]
    return plan_watches(directories, files, rules)


def _tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The server's TLS context, for the page to speak HTTPS as the server did; None without
    ``--cert-file``, or if the pair no longer loads (the child said why; the page then goes out
    as plain HTTP, which a browser reports as a TLS error)."""
    if config.cert_file is None:
        return None
    from ..tls.context import configured_context

    with contextlib.suppress(DevserverError):
        return configured_context(config)
    return None


class CrashWatch:
    """Serves the crash page and collects source changes until one batch is due."""

    def __init__(
        self,
        listener: socket.socket,
        config: ServerConfig,
        *,
        summary: str,
        output: str,
        module_files: Iterable[Path],
        receive: Callable[[Path], None],
    ) -> None:
        self.plan = crash_watch_plan(config, module_files)
        self.pages = ErrorPageServer(listener, render_page(summary, crash_details(output)), tls=_tls_context(config))
        self._receive = receive
        self._observers = ObserverFactory(force_polling=config.reload_poll)
        self._debouncer = Debouncer(config.reload_delay_ms / 1000)
        self._running: RunningObserver | None = None

    def is_fix(self, path: Path) -> bool:
        return not self.plan.rules.is_ignored(path) and self.plan.rules.is_source(path)

    def start(self, since: float) -> str | None:
        """Answer requests, watch, and queue what changed since ``since`` (the crashed
        child's start: a fix saved while it was failing must not be missed). Returns the
        observer's warning, if it had to poll."""
        self.pages.start()
        self._running = self._observers.start(self.plan, ChangeHandler(self._receive, accept=self.is_fix))
        for path in files_changed_since(self.plan, since, accept=self.is_fix):
            self._receive(path)
        return self._running.warning

    def add(self, path: Path, now: float) -> None:
        if self.is_fix(path):
            self._debouncer.add(path, now)

    def time_left(self, now: float) -> float | None:
        return self._debouncer.time_left(now)

    def fix(self, now: float) -> ReloadNote | None:
        """The change to restart for, once its batch is due."""
        batch = self._debouncer.pop_due(now)
        if batch is None:
            return None
        first = next(iter(batch.paths))
        forget_bytecode(batch.paths)
        started = time.time() - (now - batch.first_seen)
        return ReloadNote(describe_change(first, len(batch)), started, tuple(map(str, batch.paths)))

    def stop(self) -> list[HandedConnection]:
        """Stop answering (connections wait in the backlog for the next child) and watching;
        the held connections that sent nothing yet are the caller's again."""
        silent = self.pages.stop()
        if self._running is not None:
            self._running.stop(join=False)
            self._running = None
        return silent
