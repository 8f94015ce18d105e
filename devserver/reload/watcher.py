"""The child's watcher: Django's reloader contract, driven by watchdog instead of ``stat()``.

:class:`WatchdogReloader` is a ``BaseReloader``: it sends ``autoreload_started`` (so
template, locale and django-browser-reload receivers ask for their directories), sends
``file_changed`` for each change, and asks for a restart only when no receiver returned
True, or when ``RELOAD_INCLUDE`` names the file: an explicit include wins over a
receiver's veto (``--reload-include '*.html'`` restarts on templates too). Instead of
``sys.exit(3)`` it calls ``on_restart``: the child then drains its requests and exits with
the restart code itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.urls import get_resolver
from django.utils import autoreload

from .changes import Batch, ChangeInbox, Debouncer, forget_bytecode
from .modules import imported_files
from .observer import ChangeHandler, ObserverFactory, RunningObserver
from .paths import PathRules, WatchPlan, files_changed_since, plan_watches, project_directories, relative_glob_regex

logger = logging.getLogger("django.utils.autoreload")


@dataclass(frozen=True, slots=True)
class Restart:
    """Why the watcher asks for a restart, for the console line the next child prints."""

    path: Path
    #: Files changed in the batch that caused it (the path above included).
    changed: int
    #: Seconds from the batch's first change to the decision (the debounce wait).
    waited: float
    #: Every file of the batch (a warm spare that loaded one of them is not used).
    paths: tuple[Path, ...] = ()


def sys_modules_files() -> Iterable[Path]:
    return imported_files()


class WatchdogReloader(autoreload.BaseReloader):
    """Watches the project with watchdog; one :meth:`tick` step acts on what changed."""

    def __init__(
        self,
        *,
        on_restart: Callable[[Restart], None],
        rules: PathRules,
        delay: float,
        reload_dirs: Iterable[Path] = (),
        observers: ObserverFactory | None = None,
        since: float | None = None,
        warn: Callable[[str], None] = logger.warning,
        clock: Callable[[], float] = time.monotonic,
        module_files: Callable[[], Iterable[Path]] = sys_modules_files,
    ) -> None:
        """``delay`` is the quiet period in seconds (``RELOAD_DELAY``). ``since`` is when this
        process was spawned (``time.time()``): a project file changed after it may have been
        imported stale, so it counts as a change."""
        super().__init__()
        self.rules = rules
        self.reload_dirs = tuple(reload_dirs)
        self.inbox = ChangeInbox()
        self.plan: WatchPlan | None = None
        self._on_restart = on_restart
        self._observers = observers or ObserverFactory()
        self._since = since
        self._warn = warn
        self._clock = clock
        self._module_files = module_files
        self._debouncer = Debouncer(delay)
        self._running: RunningObserver | None = None
        self._lock = threading.Lock()
        self._restart_path: Path | None = None

    @classmethod
    def check_availability(cls) -> bool:
        return True  # watchdog is a dependency, and it polls where it cannot watch

    # -- the loop --------------------------------------------------------------------------

    def tick(self) -> Iterator[None]:
        """The first step starts observing (unless :meth:`start_observing` did); each later
        one waits for changes (without a timeout while idle, so an idle reloader costs
        nothing), groups them, and acts on a batch once it is due."""
        if self.plan is None:
            self._observe()
        yield
        while True:
            paths = self.inbox.take(self._debouncer.time_left(self._clock()))
            for path in paths:
                if self.is_relevant(path):
                    self._debouncer.add(path, self._clock())
            batch = self._debouncer.pop_due(self._clock())
            if batch is not None:
                self._act_on(batch)
            yield

    def stop(self) -> None:
        super().stop()
        self.inbox.wake()
        with self._lock:
            running, self._running = self._running, None
        if running is not None:
            running.stop()

    # -- what to watch -----------------------------------------------------------------------

    def start_observing(self) -> None:
        """Ask the receivers what to watch, then watch it, and queue whatever changed since
        this process was spawned: a change made while the server already answered (this takes
        a while with many modules) is not missed. Then :meth:`run_loop` acts."""
        with contextlib.suppress(Exception):  # a broken URLconf is for the error page to show
            _ = get_resolver().urlconf_module  # its modules may connect receivers (django-browser-reload)
        autoreload.autoreload_started.send(sender=self)
        self._observe()

    def _observe(self) -> None:
        files = self.rules.project_files(self._module_files())
        directories = [*project_directories(files, self.rules), *self.directory_globs, *self.reload_dirs]
        self.plan = plan_watches(directories, [*files, *self.extra_files], self.rules)
        handler = ChangeHandler(self.inbox.put, accept=lambda path: not self.rules_now.is_ignored(path))
        running = self._observers.start(self.plan, handler)
        with self._lock:
            if self.should_stop:  # stopped while starting
                running.stop()
                return
            self._running = running
        if running.warning:
            self._warn(running.warning)
        logger.info("Watching for file changes with %s (%s)", type(self).__name__, running.method)
        self._catch_up(self.plan)

    @property
    def rules_now(self) -> PathRules:
        """The rules, rooted at the watched directories once they are known."""
        return self.plan.rules if self.plan is not None else self.rules

    def _catch_up(self, plan: WatchPlan) -> None:
        """Queue what changed under the watches between this process's spawn and the
        observer's start: edited modules, new files, templates (:meth:`tick` judges them)."""
        if self._since is None:
            return
        for path in files_changed_since(plan, self._since, accept=lambda path: not self.rules_now.is_ignored(path)):
            self.inbox.put(path)

    def is_relevant(self, path: Path) -> bool:
        """Source files, receivers' ``extra_files`` and files matching their ``watch_dir()`` globs."""
        rules = self.rules_now
        if rules.is_ignored(path):
            return False
        if rules.is_source(path) or path in self.extra_files:
            return True
        for directory, globs in self.directory_globs.items():
            if directory in path.parents:
                below = path.relative_to(directory).as_posix()
                if any(relative_glob_regex(glob).fullmatch(below) for glob in globs):
                    return True
        return False

    # -- acting on changes ---------------------------------------------------------------------

    def _act_on(self, batch: Batch) -> None:
        for path in batch.paths:
            self.notify_file_changed(path)
            if self._restart_path is not None:
                break
        if self._restart_path is None:
            return
        restart = Restart(
            self._restart_path, changed=len(batch), waited=self._clock() - batch.first_seen, paths=tuple(batch.paths)
        )
        forget_bytecode(batch.paths)
        self._on_restart(restart)  # first: the next child starts while this one stops watching
        self.stop()

    def notify_file_changed(self, path: str | os.PathLike[str]) -> None:
        """Django's contract: a restart unless a ``file_changed`` receiver returns True. A
        receiver that raises is logged and counts as not handling the change. A file that
        ``RELOAD_INCLUDE`` names restarts either way: the receivers still run first (template
        caches are reset, django-browser-reload is told), but the user asked for a restart."""
        path = Path(path)
        results = autoreload.file_changed.send_robust(sender=self, file_path=path)
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error("file_changed receiver %r failed", receiver, exc_info=result)
        handled = any(result and not isinstance(result, Exception) for _, result in results)
        if not handled or self.rules_now.is_included(path):
            self.trigger_reload(path)

    def trigger_reload(self, path: Path) -> None:
        """Where Django would ``sys.exit(3)``: remember the file; the batch's end restarts."""
        if self._restart_path is None:
            self._restart_path = path
