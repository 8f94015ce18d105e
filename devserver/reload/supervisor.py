"""The reloader's parent: hold the socket, run the server as a child, restart it.

The supervisor serves nothing while a child runs. It hands the listening socket down, so
connections made during a restart wait in the backlog (never refused) and port 0 keeps
its port, and it decides what happens from what its children say and do:

- a child asks for a restart (its watcher saw a change): the next child starts at once,
  while the old one drains its requests and exits with code 3;
- the child exits with any other code (a ``SyntaxError`` in ``models.py`` fails
  ``django.setup()``): print that, answer requests with the traceback, watch the project,
  and start a new child on the next change instead of spinning; except the very first
  child's status 2 (a bad option or ``DEVSERVER`` setting, which it has printed): that is a
  configuration mistake, and the supervisor exits with it, as devrun does without a reloader;
- SIGINT or SIGTERM: relay SIGTERM to every child (they drain), and exit 0 once all are
  gone. A second signal is relayed too, which makes them stop at once, and the exit status
  is 1 (a forced exit), as without the reloader.

It reads no settings itself: it starts with the configuration it is given, and each child
reports its effective one (``DEVSERVER`` included) once it has loaded it, which is what a
supervisor that never imports the project (:mod:`devserver.launcher`) relies on.

A restarting child hands its idle keep-alive connections over; the supervisor holds them
until the next child serves (:mod:`.held`).

Signals, messages, exits and file changes all arrive as events on one queue (which a
signal wakes, whichever thread receives it), consumed by one loop. Once a child has settled
(its first response out, its watch list built), two warm spares get ready for the next
restart: one paused at the end of ``django.setup()`` (:mod:`.preload`), used unless it loaded
something that changed, and one with only Django imported (:mod:`.spare`) for when it did.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final

from ..backends.adoption import HandedConnection
from ..conf import ServerConfig
from ..errors import EXIT_FORCED, EXIT_OK, EXIT_USAGE, RESTART_EXIT_CODE
from ..listener import LISTEN_FD_ENV
from ..readiness import SUPERVISOR_PID_ENV
from .events import EventQueue
from .handoff import PATCHES_THE_STDLIB, RELOAD_REASON_ENV, RELOAD_STARTED_ENV, ReloadNote
from .held import HeldConnections
from .process import (
    ChildExited,
    ChildProcess,
    ChildReady,
    ChildSettled,
    ConfigReported,
    ConnectionHanded,
    ProcessEvent,
    RestartRequested,
    SpareDeclined,
    SpareWarm,
    exit_description,
    interpreter_prefix,
    spare_arguments,
)
from .spare import IMPORT_STAGE, SETUP_STAGE

if TYPE_CHECKING:  # imported when first needed: python -m devserver starts its first child sooner
    from .crash import CrashWatch

#: Django's ``DJANGO_AUTORELOAD_ENV``: "true" in a reloader's child.
RUN_MAIN_ENV: Final = "RUN_MAIN"
#: After the shutdown deadline, children that still run get this long before SIGKILL.
KILL_GRACE: Final = 5.0
#: After a forced exit (a second signal), children that still run get this long before SIGKILL.
FORCED_KILL_GRACE: Final = 1.0


@dataclass(frozen=True, slots=True)
class StopRequested:
    signum: int


#: What the loop consumes: a signal, whatever a child or spare reports, a file change after a crash.
Event = StopRequested | ProcessEvent | Path


class Supervisor:
    """Runs the command as a child with ``RUN_MAIN=true`` until a signal stops it."""

    def __init__(
        self,
        listener: socket.socket,
        config: ServerConfig,
        *,
        write: Callable[[str], None],
        command: Sequence[str] | None = None,
        spares: bool = True,
        module_files: Callable[[], Iterable[Path]] | None = None,
        url: str | None = None,
        verbosity: int = 1,
    ) -> None:
        """``module_files``: whose directories the crash watch covers (by default this
        process's modules). ``url``: where the server listens, for the crash message (a
        child that fails early prints no banner)."""
        if command is None:
            from django.utils.autoreload import get_child_arguments

            command = get_child_arguments()
        self.listener = listener
        self.config = config
        self.command = [str(arg) for arg in command]
        self._write = write
        self._verbosity = verbosity
        self._module_files = module_files
        self._url = url
        self._events: EventQueue[Event] = EventQueue()
        prefix = interpreter_prefix()
        self._program: list[str] | None = None
        if spares and self.command[: len(prefix)] == prefix and PATCHES_THE_STDLIB.isdisjoint(sys.modules):
            self._program = self.command[len(prefix) :]
        self.children: set[ChildProcess] = set()
        self.active: ChildProcess | None = None
        #: The spare paused at the end of ``django.setup()``, and the one with Django imported.
        self.warm: ChildProcess | None = None
        self.spare: ChildProcess | None = None
        self.crash: CrashWatch | None = None
        #: Connections given up by a restarting child, waiting for the next one to serve.
        self.held = HeldConnections()
        self.stopping = False
        self.stop_requested = False
        #: The exit status once stopped (unless forced).
        self.status = EXIT_OK
        self._first: ChildProcess | None = None
        #: A second stop request came: children are told to stop at once, and the status is 1.
        self.forced = False
        self._kill_at: float | None = None
        #: The note and the suspicion while a spare's crash is retried in a fresh process.
        self._retrying: ReloadNote | None = None
        self._spare_suspected = False

    def run(self) -> int:
        """Supervise until SIGINT or SIGTERM; the exit status for the command."""
        handlers = {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            with self._events.waking_on_signals():
                return self.serve()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    def serve(self) -> int:
        """The loop, without signal handlers (:meth:`request_stop` ends it)."""
        try:
            self._start(note=None)
            while not (self.stopping and not self.children):
                self._handle(self._next_event())
            return EXIT_FORCED if self.forced else self.status
        finally:
            self._end_crash_watch()
            self.held.close()
            for child in list(self.children):  # only after an unexpected error: leave no orphan
                child.signal(signal.SIGKILL)
            self.close()

    def close(self) -> None:
        """Release the event queue (:meth:`serve` does; a supervisor never served must too)."""
        self._events.close()

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """What SIGINT and SIGTERM do; safe from any thread and from a signal handler."""
        self._events.put(StopRequested(signum))  # safe in a signal handler: a deque append and a send

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request_stop(signum)

    def _next_event(self) -> Event | None:
        """The next event, or None when a deadline (a debounced fix, the kill) comes first."""
        now = time.monotonic()
        waits = [self._kill_at - now] if self._kill_at is not None else []
        if self.crash is not None and (left := self.crash.time_left(now)) is not None:
            waits.append(left)
        return self._events.get(timeout=max(min(waits), 0.0) if waits else None)

    def _handle(self, event: Event | None) -> None:
        if isinstance(event, StopRequested):
            self._stop(force=self.stop_requested)
            self.stop_requested = True
        elif isinstance(event, ChildExited):
            self._exited(event.child, event.returncode)
        elif isinstance(event, ConnectionHanded):
            self._place(event.connection)
        elif isinstance(event, RestartRequested):
            event.child.release()  # nothing more is sent to it: it may exit once drained
            if event.child is self.active and not self.stopping:
                self.active = None  # it drains and exits 3 by itself; the next one starts now
                self._start(event.note)
        elif isinstance(event, ChildReady):
            self._ready(event.child)
        elif isinstance(event, ChildSettled):
            if event.child is self.active:
                self._warm_spare()
        elif isinstance(event, ConfigReported):
            if event.child is self.active:
                self.config = event.config
                if not event.spares:
                    self._program = None
        elif isinstance(event, SpareWarm):
            self._warmed(event)
        elif isinstance(event, SpareDeclined):
            self._declined(event.child, event.reason)
        elif isinstance(event, Path) and self.crash is not None:
            self.crash.add(event, time.monotonic())
        if self._kill_at is not None and time.monotonic() >= self._kill_at:
            for child in self.children:
                child.signal(signal.SIGKILL)
            self._kill_at = None
        if self.crash is not None and (note := self.crash.fix(time.monotonic())) is not None:
            self._end_crash_watch()
            self._start(note)

    # -- children ----------------------------------------------------------------------------

    def child_environ(self, note: ReloadNote | None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in (RELOAD_REASON_ENV, RELOAD_STARTED_ENV)}
        env[RUN_MAIN_ENV] = "true"
        env[LISTEN_FD_ENV] = str(self.listener.fileno())
        env[SUPERVISOR_PID_ENV] = str(os.getpid())
        if note is not None:
            env.update(note.to_environ())
        return env

    def _start(self, note: ReloadNote | None, *, fresh: bool = False) -> None:
        env = self.child_environ(note)
        child = None if fresh else self._take_spare(env, note)
        if child is None:
            child = ChildProcess(self.command, env, self.listener, self._events)
        self.children.add(child)
        self.active = child
        self._first = self._first or child
        self._retrying = note if child.spawned_as_spare else None

    def _take_spare(self, env: dict[str, str], note: ReloadNote | None) -> ChildProcess | None:
        """The spare set up as far as ``django.setup()`` if there is one (it declines if it
        loaded something that changed, and :meth:`_declined` starts again), else the one with
        Django imported; given its orders."""
        if self._program is None:
            return None
        changed = note.paths if note is not None else ()
        for stage in (SETUP_STAGE, IMPORT_STAGE):
            spare = self._pop_spare(stage)
            if spare is None:
                continue
            try:
                spare.activate(self.command, self._program, env, changed)
            except OSError:  # it died meanwhile; its exit is reaped like any other
                continue
            return spare
        return None

    def _pop_spare(self, stage: str) -> ChildProcess | None:
        """Take the spare of ``stage`` out of its slot; None if there is none alive."""
        if stage == SETUP_STAGE:
            spare, self.warm = self.warm, None
        else:
            spare, self.spare = self.spare, None
        return spare if spare is not None and spare.returncode is None else None

    def _warmed(self, event: SpareWarm) -> None:
        if event.child is self.warm:
            self._warm_spare(second=True)
        stopped = f"; stopped by {event.error}, used only if a fresh start stops there too" if event.error else ""
        self._tell(
            f"devserver: a warm spare set Django up in {event.seconds:.2f} s ({event.files} files loaded{stopped})."
        )

    def _declined(self, child: ChildProcess, reason: str) -> None:
        """A setup spare loaded something that changed: start the child another way."""
        self._tell(f"devserver: the warm spare is not used: {reason}.")
        if child is self.active and not self.stopping:
            self.active = None  # it exits by itself
            self._start(self._retrying)

    def _tell(self, message: str) -> None:
        """What only ``-v 2`` shows: which spare served, and why not."""
        if self._verbosity >= 2:
            self._write(message)

    def _ready(self, child: ChildProcess) -> None:
        if child is not self.active:
            return
        self.held.pass_to(child)
        if self._spare_suspected:  # a spare failed where a fresh child works: no more spares
            self._spare_suspected = False
            self._program = None
            self._write("devserver: a warm spare failed to start where a fresh process works; spares are off.")
            for spare in (self.warm, self.spare):
                if spare is not None:
                    spare.signal(signal.SIGTERM)

    def _warm_spare(self, *, second: bool = False) -> None:
        """Start the spares for the next restart (once a child has settled, or while one is down):
        the set-up one first, the import one once that one is set up (``second``) or gone, so
        that one spare at a time competes with the new child for the CPU."""
        if self._program is None or self.stopping:
            return
        if self.warm is None and not second:
            self.warm = self._spawn_spare(SETUP_STAGE)
        elif self.spare is None and (second or self.warm is None):
            self.spare = self._spawn_spare(IMPORT_STAGE)

    def _spawn_spare(self, stage: str) -> ChildProcess:
        assert self._program is not None
        arguments = spare_arguments(stage, self._program)
        spare = ChildProcess(arguments, self.child_environ(None), self.listener, self._events, spare=True)
        self.children.add(spare)
        return spare

    def _exited(self, child: ChildProcess, returncode: int) -> None:
        child.close()
        self.children.discard(child)
        if child is self.spare:  # died before its orders: spares do not work here
            self.spare = None
            if returncode not in (EXIT_OK, -signal.SIGTERM):
                self._program = None
            return
        if child is self.warm:  # ended before its orders (a stop, or the project broke meanwhile)
            self.warm = None
            self._warm_spare(second=True)
            return
        if child is not self.active:
            return  # a retired child done draining, or a spare that died before its orders
        self.active = None
        if self.stopping:
            return
        if returncode == RESTART_EXIT_CODE:  # asked for a restart without saying so first
            self._start(note=None)
        elif returncode == EXIT_USAGE and child is self._first:
            self.status = EXIT_USAGE  # a bad option or setting at launch: it said which; stop as devrun would
            self._stop()
        elif returncode == EXIT_OK and child.spawned_as_spare and not child.ready:
            self._start(self._retrying)  # a spare that declined (its message may come late): another way
        elif returncode == EXIT_OK:  # stopped by someone else: so do we
            self._stop()
        elif child.spawned_as_spare and not child.ready:
            self._spare_suspected = True  # never show an error that a spare could have caused
            self._start(self._retrying, fresh=True)
        else:
            self._spare_suspected = False
            self._begin_crash_watch(child, returncode)

    def _place(self, connection: HandedConnection) -> None:
        """A connection a restarting child gave up: to the child that serves, else held."""
        if self.stopping:
            connection.close()
        elif self.crash is not None:
            self.crash.pages.hold(connection)
        else:
            self.held.hold(connection)
            if self.active is not None and self.active.ready:
                self.held.pass_to(self.active)

    def _stop(self, *, force: bool = False) -> None:
        if not self.stopping:
            self.stopping = True
            self._kill_at = time.monotonic() + self.config.shutdown_timeout + KILL_GRACE
            self._end_crash_watch()
            self.held.close()
        if force and not self.forced:
            self.forced = True
            forced_deadline = time.monotonic() + FORCED_KILL_GRACE
            self._kill_at = forced_deadline if self._kill_at is None else min(self._kill_at, forced_deadline)
        for spare in (self.warm, self.spare):
            if spare is not None:  # end of orders: it leaves even if a library caught SIGTERM
                with contextlib.suppress(OSError):
                    spare.control.shutdown(socket.SHUT_WR)
        for child in self.children:
            child.signal(signal.SIGTERM)

    # -- after a crash -----------------------------------------------------------------------

    def _begin_crash_watch(self, child: ChildProcess, returncode: int) -> None:
        from .crash import CrashWatch
        from .watcher import sys_modules_files

        summary = f"The server process {exit_description(returncode)}."
        requests = f"Requests to {self._url}" if self._url else "Requests"
        self._write(f"devserver: {summary} {requests} get an error page until a file changes.")
        self.crash = CrashWatch(
            self.listener,
            self.config,
            summary=summary,
            output=child.output(),
            module_files=(self._module_files or sys_modules_files)(),
            receive=self._events.put,
        )
        warning = self.crash.start(since=child.spawned_at)
        if warning:
            self._write(warning)
        for connection in self.held.take():
            self.crash.pages.hold(connection)
        self._warm_spare()

    def _end_crash_watch(self) -> None:
        crash, self.crash = self.crash, None
        if crash is not None:
            self.held.hold_all(crash.stop())  # connections still silent wait for the next child
