"""pytest fixtures that run the real ``manage.py devrun`` for end-to-end tests.

Installed with the package (entry point ``pytest11``, name ``devserver``; ``-p no:devserver``
turns it off). Nothing runs unless a test asks for ``devrun_server`` or ``devrun_factory``.
Each server is a subprocess on a free port (``127.0.0.1:0``, ``--noreload``); the fixture
waits for its ``--ready-file`` with a deadline, so a server that crashes or hangs at start
fails the test at once with the server's output instead of hanging the run.

The subprocess is a separate process: it uses the database the project's settings configure,
not pytest-django's test database.

A server started with ``--cert-file`` serves HTTPS: ``.url`` says ``https://``, ``.get()`` speaks
TLS and checks that the certificate served is that file, and ``.cert_file`` is there for your
own clients (``requests.get(server.url, verify=server.cert_file)``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import pytest

from .readiness import Readiness, ReadyFile

#: Where ``manage.py`` is, when neither ``--devrun-manage`` nor this variable is given.
MANAGE_ENV: Final = "DEVRUN_MANAGE_PY"
DEFAULT_START_TIMEOUT: Final = 30.0
#: Longer than devrun's default shutdown timeout (5 s), so a clean stop is never cut.
STOP_TIMEOUT: Final = 20.0
REQUEST_TIMEOUT: Final = 10.0
_POLL_INTERVAL: Final = 0.05
_LOG_TAIL_LINES: Final = 200
#: Variables of a reloader parent that must not reach a fresh server.
_INHERITED_OUT: Final = ("RUN_MAIN", "DEVSERVER_LISTEN_FD", "DEVSERVER_SUPERVISOR_PID")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devrun", "devserver's devrun_server fixture")
    group.addoption(
        "--devrun-manage",
        dest="devrun_manage",
        metavar="PATH",
        help=f"manage.py that devrun_server runs (default: ${MANAGE_ENV}, the devrun_manage ini option, "
        "or manage.py in rootdir).",
    )
    parser.addini("devrun_manage", "manage.py that devrun_server runs, relative to the ini file.", default="")
    parser.addini(
        "devrun_start_timeout",
        "Seconds devrun_server waits for the server to be ready.",
        default=str(DEFAULT_START_TIMEOUT),
    )


def manage_py(config: pytest.Config) -> Path:
    """``--devrun-manage``, then ``$DEVRUN_MANAGE_PY``, then the ``devrun_manage`` ini option, then rootdir."""
    option = config.getoption("devrun_manage", default=None)
    if option:
        return Path(option).absolute()
    variable = os.environ.get(MANAGE_ENV)
    if variable:
        return Path(variable).absolute()
    ini = str(config.getini("devrun_manage"))
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / ini).absolute()
    return config.rootpath / "manage.py"


@dataclass(frozen=True)
class Response:
    """What :meth:`DevrunServer.get` read: status, headers (lower-case names) and the whole body."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DevrunServer:
    """A running ``manage.py devrun`` subprocess, ready: its socket accepts connections."""

    process: subprocess.Popen[bytes]
    log_path: Path
    readiness: Readiness
    #: The ``--cert-file`` it was started with (it serves HTTPS then), as an absolute path.
    cert_file: Path | None = None
    stopped: bool = field(default=False, init=False)

    @property
    def url(self) -> str:
        return self.readiness.url

    @property
    def host(self) -> str:
        return self.readiness.host

    @property
    def port(self) -> int:
        return self.readiness.port

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr, interleaved)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, headers: Mapping[str, str] | None = None, timeout: float = REQUEST_TIMEOUT) -> Response:
        """GET ``path`` on a fresh connection and read the whole response (over TLS for ``https://``)."""
        connection = self._connection(timeout)
        try:
            connection.request("GET", path, headers=dict(headers or {}))
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        names = {name.lower(): value for name, value in response.getheaders()}
        return Response(response.status, response.reason, names, body)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if not self.url.startswith("https:"):
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        from .tls.context import client_context  # only for HTTPS

        return http.client.HTTPSConnection(
            self.host, self.port, timeout=timeout, context=client_context(self.cert_file)
        )

    def stop(self) -> int:
        """SIGTERM, then wait; a server that does not stop in time is killed and fails the test."""
        if not self.stopped:
            self.stopped = True
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(
                    f"devrun (pid {self.pid}) did not stop within {STOP_TIMEOUT:g} s of SIGTERM; it was killed.\n"
                    f"{_tail(self.log())}",
                    pytrace=False,
                )
        return self.process.returncode

    def __enter__(self) -> DevrunServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


class DevrunFactory:
    """Starts servers with extra arguments, settings or environment; stops them all at the end."""

    def __init__(self, manage: Path, workdir: Path, start_timeout: float) -> None:
        self.manage = manage
        self.workdir = workdir
        self.start_timeout = start_timeout
        self.servers: list[DevrunServer] = []

    def __call__(
        self,
        *args: str,
        addrport: str = "127.0.0.1:0",
        settings: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> DevrunServer:
        """Start ``manage.py devrun ADDRPORT --noreload --ready-file … ARGS`` and wait until it is ready."""
        if not self.manage.is_file():
            pytest.fail(
                f"devrun_server: no manage.py at {self.manage}; set --devrun-manage, ${MANAGE_ENV} "
                "or the devrun_manage ini option.",
                pytrace=False,
            )
        number = len(self.servers) + 1
        ready_file = ReadyFile(self.workdir / f"devrun-{number}.json")
        log_path = self.workdir / f"devrun-{number}.log"
        command = [sys.executable, str(self.manage), "devrun", addrport, "--noreload"]
        command += ["--ready-file", str(ready_file.path), *args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=self.manage.parent,
                env=_server_env(settings, env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        readiness = _wait_ready(process, ready_file, log_path, self.start_timeout if timeout is None else timeout)
        server = DevrunServer(process, log_path, readiness, cert_file=_cert_file(args, self.manage.parent))
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        """Stop every server, even when one of them fails to stop; then report the failures."""
        failures: list[str] = []
        for server in self.servers:
            try:
                server.stop()
            except pytest.fail.Exception as failure:
                failures.append(str(failure))
        if failures:
            pytest.fail("\n\n".join(failures), pytrace=False)


def _server_env(settings: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    """This process's environment (so pytest-django's DJANGO_SETTINGS_MODULE passes through), plus overrides."""
    env = {name: value for name, value in os.environ.items() if name not in _INHERITED_OUT}
    env["PYTHONUNBUFFERED"] = "1"
    if settings is not None:
        env["DJANGO_SETTINGS_MODULE"] = settings
    env.update(extra or {})
    return env


def _wait_ready(process: subprocess.Popen[bytes], ready_file: ReadyFile, log_path: Path, timeout: float) -> Readiness:
    """The server's readiness, or a test failure with its output: it exited, or the deadline passed."""
    deadline = time.monotonic() + timeout
    while True:
        status = process.poll()
        if status is not None:
            pytest.fail(
                f"devrun exited with status {status} before it was ready.\n{_tail(_read(log_path))}", pytrace=False
            )
        try:
            return ready_file.read()
        except FileNotFoundError:
            pass
        if time.monotonic() >= deadline:
            process.kill()
            process.wait()
            pytest.fail(
                f"devrun was not ready within {timeout:g} s; it was killed.\n{_tail(_read(log_path))}", pytrace=False
            )
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_POLL_INTERVAL)  # returns early if the server dies


def _cert_file(args: Sequence[str], cwd: Path) -> Path | None:
    """The ``--cert-file`` among devrun's arguments (``--cert-file X`` or ``--cert-file=X``), from ``cwd``."""
    for index, argument in enumerate(args):
        if argument == "--cert-file" and index + 1 < len(args):
            return cwd / args[index + 1]
        if argument.startswith("--cert-file="):
            return cwd / argument.partition("=")[2]
    return None


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _tail(log: str) -> str:
    lines = log.splitlines()
    shown = lines[-_LOG_TAIL_LINES:]
    skipped = f"[... {len(lines) - len(shown)} earlier lines ...]\n" if len(lines) > len(shown) else ""
    return f"--- server output ---\n{skipped}" + "\n".join(shown) + "\n--- end of server output ---"


@pytest.fixture(scope="session")
def devrun_factory(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevrunFactory]:
    """Start extra servers: ``devrun_factory("--backend", "single", settings="ci_settings", env={...})``.

    Every server it started is stopped (SIGTERM, by pid) at the end of the session; use one as a
    context manager, or call ``.stop()``, to stop it sooner.
    """
    timeout = float(str(pytestconfig.getini("devrun_start_timeout")))
    factory = DevrunFactory(manage_py(pytestconfig), tmp_path_factory.mktemp("devrun"), timeout)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def devrun_server(devrun_factory: DevrunFactory) -> DevrunServer:
    """One ready ``manage.py devrun`` for the session: ``.url``, ``.port``, ``.pid``, ``.log()``, ``.get(path)``."""
    return devrun_factory()
