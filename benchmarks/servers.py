"""Launch and stop the servers under test: devrun's backends and Django's runserver.

Every server runs ``testproject/manage.py`` in its own process on 127.0.0.1 with a
free port, is ready when its banner names the URL (with a deadline, never a fixed
sleep), and is stopped by its own PID: SIGTERM, then SIGKILL after a timeout.
Helpers here are meant to be reused by the other benchmarks (startup, reload).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

REPO: Final = Path(__file__).resolve().parent.parent
MANAGE: Final = REPO / "testproject" / "manage.py"
HOST: Final = "127.0.0.1"
#: runserver's and devrun's banner line (Django 6.1 says "Starting WSGI development server at"; https
#: with --cert-file).
BANNER: Final = re.compile(r"Starting (?:WSGI )?development server at https?://127\.0\.0\.1:(\d+)/")
START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 10.0
_POLL: Final = 0.02

#: Where the servers' access log (stderr) goes: a file, or nowhere. Same for every server.
OutputMode = Literal["file", "devnull"]


class ServerStartError(RuntimeError):
    """The server exited or printed no banner before the deadline; the message has its output."""


@dataclass(frozen=True)
class ServerSpec:
    """A named way to run a server: the ``manage.py`` arguments after ``127.0.0.1:PORT``.

    ``command`` may instead be a whole command line for a server that is not a management
    command (a peer server), with ``{address}`` where ``127.0.0.1:PORT`` goes (or ``{port}``); such a server
    prints no banner, so it is ready once its port accepts connections.
    """

    name: str
    command: str | tuple[str, ...]
    options: tuple[str, ...] = ()
    description: str = ""
    #: Extra environment for this server (the ASGI benchmark serves testproject with TESTPROJECT_ASGI=1).
    env: tuple[tuple[str, str], ...] = ()

    @property
    def has_banner(self) -> bool:
        return isinstance(self.command, str)

    def argv(self, port: int) -> list[str]:
        address = f"{HOST}:{port}"
        if isinstance(self.command, tuple):
            return [part.replace("{address}", address).replace("{port}", str(port)) for part in self.command]
        return [sys.executable, "-u", str(MANAGE), self.command, address, "--noreload", *self.options]


def registered_backends() -> list[str]:
    """WSGI backend names registered in devserver right now (the list grows as backends land);
    ASGI backends are measured by ``python -m benchmarks.asgi``."""
    from devserver.backends import BACKENDS, resolve_backend
    from devserver.interface import WSGI, interface_of

    return [name for name in BACKENDS if interface_of(resolve_backend(name)) == WSGI]


def server_specs() -> list[ServerSpec]:
    """devrun on every registered backend, then runserver threaded and --nothreading."""
    specs = [
        ServerSpec(f"devrun-{name}", "devrun", ("--backend", name), f"manage.py devrun --backend {name}")
        for name in registered_backends()
    ]
    specs.append(ServerSpec("runserver", "runserver", (), "manage.py runserver (threading)"))
    specs.append(
        # Django answers every request of a non-threading server with Connection: close.
        ServerSpec("runserver-nothreading", "runserver", ("--nothreading",), "manage.py runserver --nothreading")
    )
    return specs + peer_specs()


#: The application peers serve: what the in-process ceiling calls (WSGI_APPLICATION in StaticFilesHandler).
PEER_APPLICATION: Final = "benchmarks.peer_app:application"


def peer_specs() -> list[ServerSpec]:
    """Other WSGI servers on one thread, for scale, when installed (``pip install waitress uwsgi``).

    waitress is a pure-Python HTTP server (it writes no access log); uWSGI's HTTP layer is C,
    so it shows what a compiled server reaches on this machine, with its access log (as devrun
    and runserver write theirs) and without. Neither is a dependency of devserver.
    """
    specs = []
    if importlib.util.find_spec("waitress") is not None:
        waitress = (sys.executable, "-m", "waitress", "--threads=1", "--listen={address}", PEER_APPLICATION)
        specs.append(ServerSpec("waitress", waitress, description="waitress, 1 thread (pure Python; optional)"))
    uwsgi = shutil.which("uwsgi") or shutil.which("uwsgi", path=str(Path(sys.executable).parent))
    if uwsgi is not None:
        command = (
            *(uwsgi, "--http11-socket", "{address}", "--module", PEER_APPLICATION, "--home", sys.prefix),
            *("--pythonpath", str(REPO), "--processes", "1", "--die-on-term", "--need-app"),
        )
        specs.append(ServerSpec("uwsgi", command, description="uWSGI --http11-socket, 1 process (C HTTP; optional)"))
        specs.append(
            ServerSpec(
                "uwsgi-quiet",
                (*command, "--disable-logging"),
                description="the same without its access log: the C ceiling (optional)",
            )
        )
    return specs


def pinned(argv: Sequence[str], cpu: int | None) -> list[str]:
    """``argv`` prefixed with ``taskset -c CPU`` when asked for and available; unchanged otherwise."""
    if cpu is None or not can_pin(cpu):
        return list(argv)
    return ["taskset", "-c", str(cpu), *argv]


def can_pin(cpu: int) -> bool:
    """True when taskset exists and this process may run on ``cpu``."""
    if shutil.which("taskset") is None:
        return False
    affinity = getattr(os, "sched_getaffinity", None)
    return affinity is None or cpu in affinity(0)


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later; a lost race fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(database: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for testproject: its settings, the migrated DB, DEBUG on, unbuffered output."""
    env = dict(os.environ)
    env.pop("RUN_MAIN", None)
    env.update(
        DJANGO_SETTINGS_MODULE="testproject.settings",
        DJANGO_RUNSERVER_HIDE_WARNING="true",
        PYTHONUNBUFFERED="1",
        TESTPROJECT_DB=str(database),
        TESTPROJECT_DEBUG="1",
    )
    env.setdefault("TESTPROJECT_DEVSERVER", "{}")
    env.update(extra or {})
    return env


@contextmanager
def migrated_database() -> Iterator[Path]:
    """A temporary SQLite database with testproject's migrations applied, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="devserver-bench-") as directory:
        database = Path(directory) / "db.sqlite3"
        subprocess.run(
            [sys.executable, str(MANAGE), "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=server_env(database),
            stdin=subprocess.DEVNULL,
            check=True,
        )
        yield database


@dataclass
class ServerProcess:
    """One running server. Its stdout (the banner) goes to ``log``; stderr to ``log`` or nowhere."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait for the banner line naming our port (or, for a peer, an accepted connection);
        ServerStartError on exit or deadline.
        """
        deadline = time.monotonic() + timeout
        while True:
            if not self.spec.has_banner:
                if self._accepts_connections():
                    return
            elif (match := BANNER.search(self.output())) is not None:
                if int(match.group(1)) != self.port:
                    raise ServerStartError(f"{self.spec.name} announced port {match.group(1)}, not {self.port}")
                return
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(f"{self.spec.name} exited with status {code}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"{self.spec.name} printed no banner within {timeout:g}s:\n{self.tail()}")
            time.sleep(_POLL)

    def _accepts_connections(self) -> bool:
        try:
            socket.create_connection((HOST, self.port), timeout=_POLL).close()
        except OSError:
            return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM to our PID; SIGKILL if it is still running after ``timeout``. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def launch(
    spec: ServerSpec,
    database: Path,
    log_dir: Path,
    *,
    cpu: int | None = 0,
    output: OutputMode = "file",
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Start ``spec`` on a free port (pinned to ``cpu`` where possible); call ``wait_ready`` next."""
    port = free_port()
    log = log_dir / f"{spec.name}-{port}.log"
    with log.open("wb") as stdout:
        stderr = subprocess.STDOUT if output == "file" else subprocess.DEVNULL
        process = subprocess.Popen(
            pinned(spec.argv(port), cpu),
            cwd=REPO,
            env=server_env(database, {**dict(spec.env), **(env or {})}),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    return ServerProcess(spec, process, port, log)


@contextmanager
def running(
    spec: ServerSpec,
    database: Path,
    log_dir: Path,
    *,
    cpu: int | None = 0,
    output: OutputMode = "file",
    timeout: float = START_TIMEOUT,
) -> Iterator[ServerProcess]:
    """A ready server for the duration of the block, always stopped afterwards."""
    server = launch(spec, database, log_dir, cpu=cpu, output=output)
    try:
        server.wait_ready(timeout)
        yield server
    finally:
        server.stop()
