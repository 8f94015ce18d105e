"""The reloader child's side: notice a dead supervisor, watch files, restart gracefully.

The command creates a :class:`ReloaderChild` when it runs with ``RUN_MAIN=true``. The
listening socket itself comes from :func:`devserver.listener.inherited_listener`; this
module starts the watcher beside the serving backend, and turns its verdict into a
graceful stop (``backend.shutdown()``) followed by the restart exit code. With a backend that
takes part in hand-overs (:mod:`devserver.backends.adoption`), idle connections travel on the
control socket: given up on a restart, adopted from the supervisor once serving.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol

from django.core.signals import request_finished

from ..backends.adoption import AdoptingBackend, HandedConnection, takes_part_in_handovers
from ..conf import ServerConfig
from ..signals import signals_blocked
from .handoff import (
    CONTROL_FD_ENV,
    PATCHES_THE_STDLIB,
    READY,
    SETTLED,
    SPAWNED_AT_ENV,
    ReloadNote,
    config_message,
    describe_change,
    encode_message,
    restart_message,
)
from .handover import RELEASED, ControlHandover, ControlReader, ControlWriter
from .observer import ObserverFactory
from .paths import PathRules
from .watcher import Restart, WatchdogReloader


class Stoppable(Protocol):
    def shutdown(self, *, restart: bool = False) -> None: ...


#: How long a restarting child waits, before it exits, for the supervisor's word that no more
#: connections are on their way to it (normally already there: it is sent on "restart").
RELEASE_TIMEOUT: Final = 2.0


#: The longest the watcher waits for the first response before it lists what to watch (which
#: takes a while: it would slow that response, the one a developer who just saved waits for).
WATCH_AFTER: Final = 0.5


class FirstResponse:
    """Set when Django finishes its first response (``request_finished``), whatever the backend."""

    def __init__(self) -> None:
        self._event = threading.Event()
        request_finished.connect(self._finished, weak=False, dispatch_uid=id(self))

    def _finished(self, **kwargs: object) -> None:
        self._event.set()

    def wait(self, timeout: float) -> None:
        """Until the first response is done, or ``timeout`` seconds; then stop listening."""
        self._event.wait(timeout)
        request_finished.disconnect(dispatch_uid=id(self))


def _exit_now() -> None:
    os._exit(1)  # nobody is left to read the status; only leaving matters


class ReloaderChild:
    """State a reloader child keeps: the control socket, its spawn time, why it started."""

    def __init__(
        self, control: socket.socket | None, *, spawned_at: float | None = None, note: ReloadNote | None = None
    ) -> None:
        self.control = control
        self.spawned_at = spawned_at
        self.note = note
        #: Set once the watcher asked for a restart; the command then exits with code 3.
        self.restart: ReloadNote | None = None
        self.reloader: WatchdogReloader | None = None
        self._writer = ControlWriter(control) if control is not None else None
        #: The backend, once serving, if it adopts connections (else they are closed on arrival).
        self._adopter: AdoptingBackend | None = None
        self._released = threading.Event()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> ReloaderChild:
        control = None
        descriptor = environ.get(CONTROL_FD_ENV, "")
        if descriptor.isdigit():
            with contextlib.suppress(OSError):  # not a socket (e.g. a stale variable): no parent watch
                control = socket.socket(fileno=int(descriptor))
                control.set_inheritable(False)  # a subprocess must not keep the supervisor's EOF away
        try:
            spawned_at: float | None = float(environ.get(SPAWNED_AT_ENV, ""))
        except ValueError:
            spawned_at = None
        return cls(control, spawned_at=spawned_at, note=ReloadNote.from_environ(environ))

    @property
    def restarting(self) -> bool:
        return self.restart is not None

    def watch_supervisor(self, on_gone: Callable[[], None] = _exit_now) -> threading.Thread | None:
        """Call ``on_gone`` (by default, exit at once) when the supervisor's end of the control
        socket closes: it died, even by SIGKILL, and this process must not outlive it. Until
        then, take what the supervisor sends: connections to adopt, and ``released``."""
        control = self.control
        if control is None:
            return None

        def listen() -> None:
            reader = ControlReader(control)
            try:
                with contextlib.suppress(OSError):
                    while (messages := reader.read()) is not None:
                        for message, connection in messages:
                            if connection is not None:
                                self._adopt(connection)
                            elif message["event"] == RELEASED:
                                self._released.set()
            finally:
                reader.close()
            on_gone()

        thread = threading.Thread(target=listen, name="devserver-supervisor-watch", daemon=True)
        with signals_blocked():  # its threads (ours, watchdog's) leave Ctrl-C to the main thread
            thread.start()
        return thread

    def reload_summary(self, now: float | None = None) -> str | None:
        """``shop/views.py changed, reloaded in 412 ms`` on a restart, None on the first start."""
        if self.note is None:
            return None
        return self.note.summary(time.time() if now is None else now)

    def report_config(self, config: ServerConfig) -> None:
        """Tell the supervisor what it cannot know without importing the project (it may
        never do so): what to watch after a crash, how long a stop may take, and whether the
        project patches the standard library (no warm spares then)."""
        self._send(config_message(config, spares=PATCHES_THE_STDLIB.isdisjoint(sys.modules)))

    def serving(self, backend: Stoppable, config: ServerConfig, *, warn: Callable[[str], None]) -> WatchdogReloader:
        """Tell the supervisor this child serves (it passes on what it holds), then watch files
        and act on changes on a daemon thread: a change that needs a restart stops ``backend``
        gracefully. Being ready does not wait for the watch list (see :meth:`_watch`)."""
        rules = PathRules.for_this_interpreter(include=config.reload_include, exclude=config.reload_exclude)
        reloader = WatchdogReloader(
            on_restart=lambda restart: self.request_restart(restart, backend),
            rules=rules,
            reload_dirs=[Path(directory).absolute() for directory in config.reload_dirs],
            delay=config.reload_delay_ms / 1000,
            observers=ObserverFactory(force_polling=config.reload_poll),
            since=self.spawned_at,
            warn=warn,
        )
        self.reloader = reloader
        first_response = FirstResponse()  # before "ready": the supervisor then passes on what it holds
        self._send(encode_message(READY, adopts=self.take_part_in_handovers(backend)))
        with signals_blocked():  # its threads (ours, watchdog's) leave Ctrl-C to the main thread
            threading.Thread(
                target=self._watch, args=(reloader, first_response), name="devserver-watcher", daemon=True
            ).start()
        return reloader

    def _watch(self, reloader: WatchdogReloader, first_response: FirstResponse) -> None:
        """The watcher thread. Listing what to watch takes a while on a large project: it waits
        until the first response is out (the one a developer who just saved is waiting for),
        then says so, and the supervisor starts the spares for the next restart (only then,
        for the same reason). Nothing changed meanwhile is missed: the watcher catches up."""
        first_response.wait(WATCH_AFTER)
        try:
            reloader.start_observing()
        finally:
            self._send(encode_message(SETTLED))
        reloader.run_loop()

    def take_part_in_handovers(self, backend: object) -> bool:
        """Let ``backend`` give its idle connections to the supervisor on a restart and adopt
        those the supervisor sends; False if it cannot (they are then closed, as before)."""
        if self._writer is None or not takes_part_in_handovers(backend):
            return False
        backend.handover = ControlHandover(self._writer)
        self._adopter = backend
        return True

    def request_restart(self, restart: Restart, backend: Stoppable) -> None:
        """Tell the supervisor why (it starts the next child at once, while this one drains),
        then stop serving: the command exits with the restart code."""
        note = ReloadNote(
            describe_change(restart.path, restart.changed), time.time() - restart.waited, tuple(map(str, restart.paths))
        )
        self.restart = note
        self._send(restart_message(note))
        backend.shutdown(restart=True)

    def leave(self, timeout: float = RELEASE_TIMEOUT) -> None:
        """Before a restarting child exits: wait until the supervisor sends nothing more here.
        A connection it sent meanwhile went back to it, so none is lost with this process."""
        if self.restarting and self._adopter is not None:
            self._released.wait(timeout)

    def _adopt(self, connection: HandedConnection) -> None:
        """Serve a connection from the supervisor; while restarting, give it back."""
        adopter = self._adopter
        if adopter is not None and adopter.adopt(connection):
            return
        handover = adopter.handover if adopter is not None else None
        if not (self.restarting and handover is not None and handover.give(connection)):
            connection.close()

    def _send(self, message: bytes) -> None:
        if self._writer is not None:
            with contextlib.suppress(OSError):  # the supervisor is gone: the EOF watch exits
                self._writer.send(message)
