"""What the supervisor and its child tell each other, and through which channels.

Down (parent → child), in the environment: ``RUN_MAIN``, the listening socket's descriptor,
when the child was spawned, and why (the change that caused this restart, and when it was
seen). Up (child → parent), on a socket pair: its effective configuration once it has read
the settings (a supervisor that never imports the project learns ``DEVSERVER`` this way),
one line saying which change made it exit with the restart code (and the files that
changed), and one when it serves. A warm spare (see :mod:`.spare` and :mod:`.preload`) reads
its orders on the same socket, and a ``setup`` spare says there when it is set up, or why it
will not be the child. And it tells the child its parent is gone: it reads EOF.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..conf import ServerConfig

#: The child's end of the control socket pair.
CONTROL_FD_ENV: Final = "DEVSERVER_CONTROL_FD"
#: ``time.time()`` when the supervisor started this child.
SPAWNED_AT_ENV: Final = "DEVSERVER_SPAWNED_AT"
#: Why this child was started (absent on the first start).
RELOAD_REASON_ENV: Final = "DEVSERVER_RELOAD_REASON"
#: ``time.time()`` of the change that caused this start.
RELOAD_STARTED_ENV: Final = "DEVSERVER_RELOAD_STARTED"


@dataclass(frozen=True, slots=True)
class ReloadNote:
    """Which change caused a restart, and when it was seen (wall-clock seconds)."""

    reason: str
    started: float
    #: Every file of the batch that caused it (a warm spare that loaded one is not used).
    paths: tuple[str, ...] = ()

    def to_environ(self) -> dict[str, str]:
        return {RELOAD_REASON_ENV: self.reason, RELOAD_STARTED_ENV: repr(self.started)}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ReloadNote | None:
        reason, started = environ.get(RELOAD_REASON_ENV), environ.get(RELOAD_STARTED_ENV)
        if not reason or not started:
            return None
        try:
            return cls(reason, float(started))
        except ValueError:
            return None

    def summary(self, now: float) -> str:
        return f"{self.reason}, reloaded in {max(now - self.started, 0.0) * 1000:.0f} ms"


#: What a child says on the control socket, one JSON object per line.
READY: Final = "ready"
#: Its first response is out and it watches: spares may start now (before, they would slow it).
SETTLED: Final = "settled"
RESTART: Final = "restart"
CONFIG: Final = "config"
#: Modules that must patch the standard library before anything imports it; a warm spare
#: imports Django first and would break them, so a process that has them turns spares off.
PATCHES_THE_STDLIB: Final = frozenset({"gevent", "eventlet"})
#: What a ``setup`` spare says: it is set up and waits; it will not be the child (and why).
WARM: Final = "warm"
DECLINED: Final = "declined"


def encode_message(event: str, **fields: Any) -> bytes:
    return json.dumps({"event": event, **fields}).encode() + b"\n"


def decode_messages(data: bytes) -> Iterator[dict[str, Any]]:
    """The complete, well-formed messages in ``data``; anything else is skipped."""
    for line in data.splitlines():
        message = decode_message(line)
        if message is not None:
            yield message


def decode_message(line: bytes) -> dict[str, Any] | None:
    """One line's message; None if it is not one."""
    with contextlib.suppress(ValueError):
        message = json.loads(line)
        if isinstance(message, dict) and isinstance(message.get("event"), str):
            return message
    return None


def restart_message(note: ReloadNote) -> bytes:
    return encode_message(RESTART, reason=note.reason, started=note.started, paths=list(note.paths))


def note_from_message(message: dict[str, Any]) -> ReloadNote | None:
    try:
        paths = tuple(str(path) for path in message.get("paths", ()))
        return ReloadNote(str(message["reason"]), float(message["started"]), paths)
    except (KeyError, TypeError, ValueError):
        return None


def config_message(config: ServerConfig, *, spares: bool) -> bytes:
    """The child's configuration, and whether warm spares can start it (see :data:`PATCHES_THE_STDLIB`)."""
    return encode_message(CONFIG, config=config._asdict(), spares=spares)


def spares_from_message(message: dict[str, Any]) -> bool:
    return message.get("spares") is not False


def config_from_message(message: dict[str, Any]) -> ServerConfig | None:
    """The configuration a child reported, or None if the message is not one."""
    fields = message.get("config")
    if not isinstance(fields, dict) or not set(fields) <= set(ServerConfig._fields):
        return None
    defaults = ServerConfig()
    values: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()
    }
    for name, value in values.items():
        if type(value) is not type(getattr(defaults, name)):
            return None
        if isinstance(value, tuple) and not all(isinstance(item, str) for item in value):
            return None
    return ServerConfig(**values)


def leave_ctrl_c_to_the_supervisor() -> None:
    """In a child or a spare: ignore SIGINT, then unblock it (it was blocked at spawn). The
    terminal sends Ctrl-C to the whole process group; the supervisor relays it as SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def describe_change(path: Path, changed: int = 1, cwd: Path | None = None) -> str:
    """``shop/views.py changed`` (relative to the working directory when inside it)."""
    base = cwd if cwd is not None else Path.cwd()
    try:
        shown = str(path.relative_to(base))
    except ValueError:
        shown = str(path)
    more = f" (and {changed - 1} more)" if changed > 1 else ""
    return f"{shown} changed{more}"
