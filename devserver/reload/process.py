"""One server process seen from the supervisor: spawn it, listen to it, reap it.

Each :class:`ChildProcess` gets the listening socket and its own control socket pair, and
three daemon threads turn what it does into events on the supervisor's queue: its stderr
(copied through, the end kept for the error page), its messages ("ready", "restart", the
connections it hands over), and its exit. A process can also start as a warm spare and be
given its orders later.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import devserver

from ..backends.adoption import HandedConnection
from ..conf import ServerConfig
from ..signals import signals_blocked
from .handoff import (
    CONFIG,
    CONTROL_FD_ENV,
    DECLINED,
    READY,
    RESTART,
    SETTLED,
    SPAWNED_AT_ENV,
    WARM,
    ReloadNote,
    config_from_message,
    note_from_message,
    spares_from_message,
)
from .handover import ControlHandover, ControlReader, ControlWriter, released_message

#: How much of a process's stderr is kept for the error page.
OUTPUT_TAIL: Final = 64 * 1024
#: After a process exits, how long its stderr and control socket may take to reach EOF
#: (a grandchild that inherited them could hold them open forever).
_DRAIN_TIMEOUT: Final = 1.0
#: The supervisor's loop waits at most this long for room in a child's control socket.
_SEND_TIMEOUT: Final = 1.0


@dataclass(frozen=True, slots=True)
class ChildReady:
    child: ChildProcess


@dataclass(frozen=True, slots=True)
class ChildSettled:
    """Its first response is out and it watches the project: spares may start now."""

    child: ChildProcess


@dataclass(frozen=True, slots=True)
class RestartRequested:
    child: ChildProcess
    note: ReloadNote | None


@dataclass(frozen=True, slots=True)
class SpareWarm:
    """A ``setup`` spare is set up and waits (``files``: how many files it loaded)."""

    child: ChildProcess
    files: int
    seconds: float
    #: The exception that stopped its ``django.setup()`` (kept to be raised if it is used).
    error: str = ""


@dataclass(frozen=True, slots=True)
class SpareDeclined:
    """A ``setup`` spare given its orders will not be the child (it exits): ``reason``."""

    child: ChildProcess
    reason: str


@dataclass(frozen=True, slots=True)
class ChildExited:
    child: ChildProcess
    returncode: int


@dataclass(frozen=True, slots=True)
class ConfigReported:
    """The child's effective configuration (its ``DEVSERVER`` setting with the options applied)."""

    child: ChildProcess
    config: ServerConfig
    #: False when the child's project patches the standard library (gevent): no warm spares.
    spares: bool = True


@dataclass(frozen=True, slots=True)
class ConnectionHanded:
    """A restarting child gave up an idle connection: the supervisor owns it now."""

    child: ChildProcess
    connection: HandedConnection


#: Everything a process's threads report.
ProcessEvent = (
    ChildReady
    | ChildSettled
    | RestartRequested
    | ChildExited
    | ConfigReported
    | ConnectionHanded
    | SpareWarm
    | SpareDeclined
)


class EventSink(Protocol):
    """Where the process's threads report (the supervisor's queue)."""

    def put(self, event: ProcessEvent, /) -> None: ...


def interpreter_prefix() -> list[str]:
    """``python`` with this interpreter's ``-W`` and ``-X`` options, as Django's
    ``get_child_arguments()`` starts a child."""
    prefix = [sys.executable, *(f"-W{option}" for option in sys.warnoptions)]
    prefix += [f"-X{key}" if value is True else f"-X{key}={value}" for key, value in sys._xoptions.items()]
    return prefix


def spare_arguments(stage: str = "import", program: Sequence[str] = ()) -> list[str]:
    """The command that starts a warm spare of ``stage`` (see :mod:`.spare`) for ``program``
    (``devserver`` importable wherever it lives)."""
    home = str(Path(devserver.__file__).resolve().parent.parent)
    bootstrap = (
        f"import sys; sys.path.insert(0, {home!r}); import devserver.reload.spare as spare; "
        f"sys.path.remove({home!r}); spare.main({stage!r}, {list(program)!r})"
    )
    return [*interpreter_prefix(), "-c", bootstrap]


def ctrl_c_held() -> contextlib.AbstractContextManager[None]:
    """Children start with SIGINT blocked (the signal mask survives ``exec``) and unblock it
    once they ignore it (:func:`.handoff.leave_ctrl_c_to_the_supervisor`): Ctrl-C reaches the
    whole process group, and only the supervisor acts on it, relaying SIGTERM. Blocking,
    unlike ignoring, loses nothing meant for the supervisor: a SIGINT that arrives meanwhile
    waits, or is taken by another thread."""
    return signals_blocked({signal.SIGINT})


def exit_description(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class ChildProcess:
    """A child running ``argv`` (or a spare waiting for :meth:`activate`)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        listener: socket.socket,
        events: EventSink,
        *,
        spare: bool = False,
    ) -> None:
        self.control, child_end = socket.socketpair()
        #: The control socket's number in the child (``pass_fds`` keeps numbers).
        self.control_fd = child_end.fileno()
        self.spawned_as_spare = spare
        #: Whether it said it serves (a spare's orders are not enough).
        self.ready = False
        #: Whether it said its backend adopts connections handed over from an earlier child.
        self.adopts = False
        self._writer = ControlWriter(self.control, timeout=_SEND_TIMEOUT)
        self.spawned_at = time.time()
        env = {**env, CONTROL_FD_ENV: str(self.control_fd), SPAWNED_AT_ENV: repr(self.spawned_at)}
        try:
            with ctrl_c_held():
                self.process = subprocess.Popen(
                    list(argv), env=env, pass_fds=(listener.fileno(), self.control_fd), stderr=subprocess.PIPE
                )
        except BaseException:
            self.control.close()
            raise
        finally:
            child_end.close()
        self._tail = bytearray()
        self._threads = [
            threading.Thread(target=self._copy_stderr, name="devserver-child-stderr", daemon=True),
            threading.Thread(target=self._read_control, args=(events,), name="devserver-child-control", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._waiter = threading.Thread(target=self._wait, args=(events,), name="devserver-child-wait", daemon=True)
        self._waiter.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def activate(
        self, argv: Sequence[str], program: Sequence[str], env: Mapping[str, str], changed: Sequence[str] = ()
    ) -> None:
        """Turn a spare into the child: it runs ``program`` with ``env`` (or execs ``argv``).
        ``changed``: the files whose change caused this start (a spare that loaded one declines)."""
        self.spawned_at = time.time()
        env = {**env, CONTROL_FD_ENV: str(self.control_fd), SPAWNED_AT_ENV: repr(self.spawned_at)}
        orders = {"argv": list(argv), "program": list(program), "env": env, "changed": list(changed)}
        self.control.sendall(json.dumps(orders).encode() + b"\n")

    def send_connection(self, connection: HandedConnection) -> bool:
        """Give ``connection`` to this (serving) child: True once sent (and closed here)."""
        return ControlHandover(self._writer).give(connection)

    def release(self) -> None:
        """Tell a restarting child that no connection will be sent to it any more."""
        with contextlib.suppress(OSError):
            self._writer.send(released_message())

    def signal(self, signum: int) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def output(self) -> str:
        """The end of what the process wrote to stderr."""
        return bytes(self._tail).decode(errors="replace")

    def close(self) -> None:
        """After its exit: release the control socket and the threads."""
        self._waiter.join()
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)  # wakes a reader that a grandchild keeps waiting
        self.control.close()

    # -- the threads -------------------------------------------------------------------------

    def _copy_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        sink = getattr(sys.stderr, "buffer", None)
        with stream:
            while chunk := os.read(stream.fileno(), 65536):
                self._tail += chunk
                del self._tail[:-OUTPUT_TAIL]
                if sink is not None:
                    with contextlib.suppress(OSError, ValueError):
                        sink.write(chunk)
                        sink.flush()

    def _read_control(self, events: EventSink) -> None:
        reader = ControlReader(self.control)
        try:
            with contextlib.suppress(OSError):
                while (messages := reader.read()) is not None:
                    for message, connection in messages:
                        if connection is not None:
                            events.put(ConnectionHanded(self, connection))
                        elif message["event"] == READY:
                            self.adopts = message.get("adopts") is True
                            self.ready = True
                            events.put(ChildReady(self))
                        elif message["event"] == SETTLED:
                            events.put(ChildSettled(self))
                        elif message["event"] == RESTART:
                            events.put(RestartRequested(self, note_from_message(message)))
                        elif message["event"] == CONFIG and (config := config_from_message(message)) is not None:
                            events.put(ConfigReported(self, config, spares_from_message(message)))
                        elif message["event"] == WARM:
                            files, seconds = int(message.get("files", 0)), float(message.get("seconds", 0))
                            events.put(SpareWarm(self, files, seconds, str(message.get("error", ""))))
                        elif message["event"] == DECLINED:
                            events.put(SpareDeclined(self, str(message.get("reason", ""))))
        finally:
            reader.close()

    def _wait(self, events: EventSink) -> None:
        returncode = self.process.wait()
        for thread in self._threads:  # every message and the whole traceback come first
            thread.join(_DRAIN_TIMEOUT)
        events.put(ChildExited(self, returncode))
