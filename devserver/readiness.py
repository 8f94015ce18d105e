"""The readiness contract: one stdout line and an optional JSON file, for scripts and CI.

A script that starts ``devrun`` needs three facts it cannot guess when the port is 0: that
the socket accepts, where it is, and which process to signal for a clean stop. The ready
line gives them to ``grep``/``sed``; the ready file gives them to anything that reads JSON,
and its presence alone means "ready", because it is written atomically (temp file + rename)
and removed at exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Final, NamedTuple

from .errors import ConfigurationError

#: Every ready line starts with this; the rest is ``key=value`` pairs separated by spaces.
READY_LINE_PREFIX: Final = "devserver: ready"
_READY_LINE: Final = re.compile(
    r"^devserver: ready url=(?P<url>\S+) host=(?P<host>\S+) port=(?P<port>\d+) pid=(?P<pid>\d+)"
    r" backend=(?P<backend>\S+)$"
)
#: Set by the reloader's supervisor in its child: the pid that a clean stop must signal.
SUPERVISOR_PID_ENV: Final = "DEVSERVER_SUPERVISOR_PID"
_WILDCARDS: Final = {"0.0.0.0": "127.0.0.1", "0": "127.0.0.1", "::": "::1"}


class Readiness(NamedTuple):
    """Where a ready server listens and which process to signal to stop it.

    A named tuple rather than a dataclass: it is built at every start, and this is cheaper to import.
    """

    url: str
    host: str
    port: int
    pid: int
    backend: str

    @classmethod
    def for_address(cls, addr: str, port: int, *, backend: str, pid: int, scheme: str = "http") -> Readiness:
        """``url`` and ``host`` name an address a local client can reach: a wildcard becomes loopback."""
        host = _WILDCARDS.get(addr, addr)
        url_host = f"[{host}]" if ":" in host else host
        return cls(url=f"{scheme}://{url_host}:{port}/", host=host, port=port, pid=pid, backend=backend)

    def ready_line(self) -> str:
        return (
            f"{READY_LINE_PREFIX} url={self.url} host={self.host} port={self.port} pid={self.pid} "
            f"backend={self.backend}"
        )

    def as_json(self) -> str:
        return json.dumps(self._asdict(), sort_keys=True)


def parse_ready_line(line: str) -> Readiness | None:
    """The :class:`Readiness` a ready line announces, or ``None`` for any other line."""
    match = _READY_LINE.match(line.strip())
    if match is None:
        return None
    fields: dict[str, Any] = match.groupdict()
    fields["port"], fields["pid"] = int(fields["port"]), int(fields["pid"])
    return Readiness(**fields)


def signal_pid() -> int:
    """The process a clean stop must signal: the reloader's supervisor if there is one, else this one."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if supervisor and supervisor.isdigit():
        return int(supervisor)
    if os.environ.get("RUN_MAIN") == "true":  # a reloader child whose parent did not say its pid
        return os.getppid()
    return os.getpid()


def is_reloader_child() -> bool:
    """Whether a supervisor above this process owns the ready file's removal."""
    return os.environ.get("RUN_MAIN") == "true"


class ReadyFile:
    """A JSON file that exists exactly while the server accepts connections."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()

    def validate(self) -> None:
        """Fail before serving, not after, when the file could never be written."""
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"--ready-file: the directory {str(self.path.parent)!r} does not exist.")
        if self.path.is_dir():
            raise ConfigurationError(f"--ready-file: {str(self.path)!r} is a directory.")
        if not os.access(self.path.parent, os.W_OK):
            raise ConfigurationError(f"--ready-file: the directory {str(self.path.parent)!r} is not writable.")

    def write(self, readiness: Readiness) -> None:
        """Write atomically, so a reader sees either no file or the whole document."""
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(readiness.as_json() + "\n")
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def read(self) -> Readiness:
        document = json.loads(self.path.read_text(encoding="utf-8"))
        return Readiness(**{key: document[key] for key in ("url", "host", "port", "pid", "backend")})

    def remove(self) -> None:
        remove_ready_file(self.path)


def remove_ready_file(path: str | os.PathLike[str]) -> None:
    """Remove a ready file if it is there; the reloader's supervisor calls this at its final exit."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
