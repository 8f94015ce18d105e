"""A spare that has set Django up: the next child, paused where the project's own code starts.

A restart of a real project is mostly its libraries: ``django.setup()`` imports every
installed app, its models and admin modules, and runs their ``ready()`` methods (about a
second for a Wagtail site, 85 % of it third-party code). None of that depends on the view
being edited. So this spare runs ``manage.py`` exactly as a fresh child would (same command
line, environment, working directory and ``sys.path``) and stops at the end of the first
``django.setup()``. Everything it did until then is what the fresh child would have done
first; everything after (system checks, the migrations check, the URLconf, the server) still
runs after the change, as in a fresh process.

While it starts, it records everything it loads (:mod:`.inventory`) and keeps its output
aside. When its orders come, it becomes the child only if nothing it loaded has changed
since it was spawned and the change that caused the restart is not something it loaded
(otherwise it says why on the control socket and exits, and the supervisor starts the next
child another way). An error raised by the set-up is kept and raised only then, so a
failure is shown once, by the process that serves, exactly as a fresh child would show it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Final, NoReturn

from .handoff import (
    CONTROL_FD_ENV,
    DECLINED,
    RELOAD_REASON_ENV,
    RELOAD_STARTED_ENV,
    SPAWNED_AT_ENV,
    WARM,
    encode_message,
)
from .inventory import Inventory, Recorder
from .lookahead import import_ahead
from .paths import PathRules
from .tripwire import Tripwire

#: Variables that differ between any two starts; any other difference makes the spare stale.
PER_START_ENV: Final = frozenset({CONTROL_FD_ENV, SPAWNED_AT_ENV, RELOAD_REASON_ENV, RELOAD_STARTED_ENV})


class HeldOutput:
    """stdout and stderr go to temporary files until :meth:`release`: a spare's start-up
    output (a ``print`` in the settings, a warning) belongs to the start that uses it."""

    def __init__(self) -> None:
        self._flush()
        self._saved = {fd: os.dup(fd) for fd in (1, 2)}
        self._files: dict[int, IO[bytes]] = {fd: tempfile.TemporaryFile() for fd in (1, 2)}  # noqa: SIM115
        for fd, file in self._files.items():
            os.dup2(file.fileno(), fd)

    def release(self, *, replay: bool) -> None:
        """Put the real streams back; with ``replay``, write what was held to them first."""
        self._flush()
        for fd, file in self._files.items():
            os.dup2(self._saved.pop(fd), fd, inheritable=True)
            with file:
                if replay:
                    file.seek(0)
                    while chunk := file.read(65536):
                        with contextlib.suppress(OSError):
                            os.write(fd, chunk)

    @staticmethod
    def _flush() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


def stale_environment(preloaded: Mapping[str, str], ordered: Mapping[str, str]) -> str | None:
    """The first variable, other than the per-start ones, that differs."""
    for key in sorted(set(preloaded) | set(ordered)):
        if key not in PER_START_ENV and preloaded.get(key) != ordered.get(key):
            return f"the environment variable {key} changed"
    return None


def start_environment(ordered: Mapping[str, str]) -> None:
    """Only the per-start variables change (the others were checked equal): what the set-up
    itself put in ``os.environ`` (a ``.env`` loaded by ``manage.py``) stays, as in a fresh child."""
    for key in PER_START_ENV:
        if key in ordered:
            os.environ[key] = ordered[key]
        else:
            os.environ.pop(key, None)


class SetupPause:
    """Stands in for ``django.setup``: the first call sets Django up, then waits for orders."""

    def __init__(
        self,
        setup: Callable[..., None],
        *,
        control: socket.socket,
        program: Sequence[str],
        since: float,
        recorder: Recorder,
        held: HeldOutput,
    ) -> None:
        self._setup = setup
        self._control = control
        self._program = list(program)
        self._since = since
        self._recorder = recorder
        self._held = held
        self._environ = dict(os.environ)
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if self._paused:
            self._setup(*args, **kwargs)
            return
        failure: BaseException | None = None
        try:
            self._setup(*args, **kwargs)
        except BaseException as error:  # raised later, by the process that serves (if any)
            failure = error
        else:
            with contextlib.suppress(Exception):  # a shortcut only: whatever fails here, the child does itself
                import_ahead(sys.argv, PathRules.for_this_interpreter().in_environment)
        self.pause(failure)

    def pause(self, failure: BaseException | None) -> None:
        """Wait for orders; then become the child (raising ``failure``, as a fresh child would
        have) or leave. Also called if the program ends before it sets Django up."""
        self._paused = True
        self._recorder.stop()
        close_connections()
        inventory = Inventory.take(self._since, self._recorder)
        tripwire = Tripwire.arm(inventory.watched_directories())
        already = inventory.stale()  # whatever changed before the tripwire was armed
        seconds = round(time.time() - self._since, 3)
        error = type(failure).__name__ if failure is not None else ""
        self._send(encode_message(WARM, files=len(inventory), seconds=seconds, error=error))
        orders = wait_for_orders(self._control)
        if orders is None:  # the supervisor stops, or is gone
            self._leave()
        reason = self.refusal(orders, inventory, tripwire, already)
        if tripwire is not None:
            tripwire.close()
        if reason is not None:
            self._send(encode_message(DECLINED, reason=reason))
            self._leave()
        self._control.detach()  # the child's side reads this descriptor next: do not close it
        start_environment(orders["env"])
        importlib.invalidate_caches()  # directories may have new entries since they were listed
        self._held.release(replay=True)
        if failure is not None:
            raise failure

    def refusal(
        self, orders: Mapping[str, Any], inventory: Inventory, tripwire: Tripwire | None, already: str | None
    ) -> str | None:
        """Why this process must not become the child (None when it may)."""
        if list(orders["program"]) != self._program:
            return "the command line changed"
        reason = stale_environment(self._environ, orders["env"]) or already
        reason = reason or inventory.stale_change(list(orders.get("changed", ())))
        if reason is not None:
            return reason
        touched = tripwire.touched() if tripwire is not None else None
        return inventory.stale() if touched is None else inventory.stale_among(touched)

    def _send(self, message: bytes) -> None:
        with contextlib.suppress(OSError):
            self._control.sendall(message)

    def _leave(self) -> NoReturn:
        """Exit without running anything more (library threads must not keep it alive)."""
        self._held.release(replay=False)
        os._exit(0)


def close_connections() -> None:
    """A database connection opened by a ``ready()`` method must not wait open for minutes
    (and a fresh child would open its own later anyway)."""
    db = sys.modules.get("django.db")
    if db is not None:
        with contextlib.suppress(Exception):
            db.connections.close_all()


def wait_for_orders(control: socket.socket) -> dict[str, Any] | None:
    """The supervisor's one message (``{"argv", "program", "env", "changed"}``), None on EOF."""
    import json

    received = b""
    while b"\n" not in received:
        try:
            chunk = control.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        received += chunk
    orders: dict[str, Any] = json.loads(received.split(b"\n", 1)[0])
    return orders


def run_program(program: Sequence[str]) -> None:
    """Run ``manage.py ...`` or ``-m django ...`` here, as ``python`` would."""
    import runpy

    if program[0] == "-m":
        sys.argv = list(program[1:])
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(program)
        runpy.run_path(program[0], run_name="__main__")


def program_path0(program: Sequence[str]) -> str:
    """``sys.path[0]`` as ``python`` sets it for ``program``."""
    return os.getcwd() if program[0] == "-m" else os.path.dirname(os.path.realpath(program[0]))


def main(program: Sequence[str]) -> NoReturn:
    """Start ``program`` as the next child would, and pause at the end of ``django.setup()``.
    SIGINT stays blocked, as in a fresh child until its command ignores it (a Ctrl-C meanwhile
    is for the supervisor, which ends an unused spare by closing its control socket)."""
    since = float(os.environ[SPAWNED_AT_ENV])
    control = socket.socket(fileno=int(os.environ[CONTROL_FD_ENV]))
    held = HeldOutput()
    sys.orig_argv = [*sys.orig_argv[: sys.orig_argv.index("-c")], *program]  # as ``python manage.py ...``
    sys.argv = list(program)
    sys.path[0] = program_path0(program)
    recorder = Recorder()
    recorder.start(sys.path)
    import django

    pause = SetupPause(django.setup, control=control, program=program, since=since, recorder=recorder, held=held)
    django.setup = pause
    try:
        run_program(program)
    except BaseException as error:
        if pause.paused:
            raise
        pause.pause(error)  # it ended before setting Django up: its orders decide what is shown
    if not pause.paused:
        pause.pause(None)
    sys.exit(0)
