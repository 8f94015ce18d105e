"""Start the real ``devrun`` command in a subprocess and find its URL in the banner."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import django

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "testproject" / "manage.py"
#: What runserver prints before the URL (Django 6.1 names the interface); devrun prints the same.
STARTING = "Starting WSGI development server at" if django.VERSION >= (6, 1) else "Starting development server at"
URL_LINE = re.compile(r"Starting (?:[AW]SGI )?development server at (https?://(\[[^\]]+\]|[^:/]+):(\d+)/)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


class ServerFailed(AssertionError):
    pass


class DevrunProcess:
    """A ``manage.py devrun`` subprocess whose output is collected line by line."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str],
        cwd: Path = REPO,
        stdin: int = subprocess.DEVNULL,
        *,
        manage: Path = MANAGE,
        new_session: bool = False,
        subcommand: str = "devrun",
        command: Sequence[str] | None = None,
        python: str = sys.executable,
    ) -> None:
        """``new_session``: a process group of its own, so a test can signal it as a terminal does.
        ``subcommand``: another management command to compare with (``runserver``); ``command``:
        what runs instead of ``manage.py devrun`` altogether (``args`` follow it); ``python``:
        another interpreter (a throwaway virtualenv's)."""
        self.args = [*(command or [python, "-u", str(manage), subcommand]), *args]
        self.process = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=new_session,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = ""
        self.host = ""
        self.port = 0
        #: The ``--cert-file`` given (from ``cwd``): the server speaks HTTPS with it.
        self.cert_file = cert_file_argument(self.args, cwd)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = START_TIMEOUT, start: int = 0) -> str:
        """The first output line (from index ``start``) matching ``predicate``, within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise ServerFailed(f"no matching line within {timeout}s; output:\n{self.output_unlocked()}")
                self._changed.wait(min(remaining, 0.1))

    def output_unlocked(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> DevrunProcess:
        line = self.wait_for_line(lambda text: URL_LINE.search(text) is not None, timeout)
        match = URL_LINE.search(line)
        assert match is not None
        self.url, host, port = match.group(1), match.group(2), match.group(3)
        self.host = host.strip("[]")
        self.port = int(port)
        return self

    @property
    def tls(self) -> ssl.SSLContext | None:
        """A client context trusting the server's certificate (and checking the host name, which
        the certificates devrun makes cover), or None for plain HTTP."""
        if self.cert_file is None:
            return None
        return client_tls(self.cert_file)

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        """An ``http.client`` connection to the server, HTTPS when it serves that."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "localhost") else self.host
        tls = self.tls
        if tls is None:
            return http.client.HTTPConnection(host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(host, self.port, timeout=timeout, context=tls)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            self._reader.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def stop(self) -> int:
        """SIGTERM, then wait; kill if it does not stop in time (and fail)."""
        self.signal(signal.SIGTERM)
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.wait()
            raise ServerFailed(f"server did not stop on SIGTERM; output:\n{self.output()}") from None


#: Backends that serve ASGI serve the test project's async variant (ASGI_APPLICATION, Channels).
ASGI_BACKENDS = frozenset({"asyncio"})
ASGI_PROJECT_ENV = {"TESTPROJECT_ASGI": "1"}


def backend_env(args: Sequence[str]) -> dict[str, str]:
    """The test project variant a devrun command line needs: ``--backend asyncio`` serves it as ASGI."""
    arguments = list(args)
    for index, argument in enumerate(arguments[:-1]):
        if argument == "--backend" and arguments[index + 1] in ASGI_BACKENDS:
            return dict(ASGI_PROJECT_ENV)
    return {}


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RUN_MAIN", None)
    env["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    env["DJANGO_RUNSERVER_HIDE_WARNING"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_devrun(args: Sequence[str], env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run devrun to completion (for commands expected to exit, e.g. on a bad option)."""
    return subprocess.run(
        [sys.executable, str(MANAGE), "devrun", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cert_file_argument(args: Sequence[str], cwd: Path) -> Path | None:
    for index, argument in enumerate(args[:-1]):
        if argument == "--cert-file":
            return cwd / args[index + 1]
    return None


def client_tls(cert_file: Path) -> ssl.SSLContext:
    """What a careful client does: trust this certificate (as its own issuer) and check names."""
    return ssl.create_default_context(cafile=str(cert_file))


def fetch(
    host: str, port: int, path: str, timeout: float = 10.0, *, tls: ssl.SSLContext | None = None
) -> tuple[int, bytes]:
    """GET ``path`` on a new connection (over TLS with ``tls``): (status, body)."""
    connection = (
        http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
        if tls is not None
        else http.client.HTTPConnection(host, port, timeout=timeout)
    )
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def trickling_reader(client: socket.socket, piece: int = 4096, every: float = 0.05) -> Iterator[None]:
    """While the block runs, ``client`` reads ``piece`` bytes every ``every`` seconds (80 KB/s by
    default): a slow reader whose every write makes progress, so no per-call timeout fires."""
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                if not client.recv(piece):
                    return
            except OSError:
                return
            stop.wait(every)  # the pace of a slow client, not a synchronisation

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
