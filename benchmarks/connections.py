"""``python -m benchmarks.connections``: what happens to open connections on a reload and a stop.

Each server runs with its reloader on, from its own copy of ``testproject/``, and is measured
the same way:

- **a reused keep-alive connection across reloads**: ``shop/views.py`` is edited N times
  (default 20); after each edit, once a fresh connection gets the new text, one
  ``http.client`` connection that sat idle through the restart asks again. Every error
  (``RemoteDisconnected``, a reset) or stale answer counts as a failure, and so does
  every error of a second client that reuses one connection as fast as it can meanwhile
  (reconnecting 20 ms after an error, as a ``requests.Session`` user retrying would).
- **edit → event stream cut**: with ``/events/`` open (a tick every 0.5 s), the time from
  the edit to the stream's end (the watcher's debounce included). The old child should cut
  it at once, not at its drain deadline (``--shutdown-timeout``, 30 s here).
- **Ctrl-C with an event stream open → exit**: SIGINT to the whole process group, as a
  terminal sends it; the time until the supervisor has exited, and its status.

Targets (issue #10 item 3, issue #12): 0 failures on a reused keep-alive connection; the
stream cut within 0.5 s of the restart starting; exit 0 within 1 s of Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .clients import BackgroundClient
from .reload import HELLO, copy_project
from .servers import HOST, REPO, START_TIMEOUT, STOP_TIMEOUT, free_port, migrated_database, server_env

SHUTDOWN_TIMEOUT: Final = "30"
STREAM: Final = b"GET /events/?interval=0.5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
EDIT_TIMEOUT: Final = 30.0
#: A client retries this long after an error.
RETRY_AFTER: Final = 0.02
#: Between edits: runserver's StatReloader compares modification times once a second.
EDIT_GAP: Final = 1.2


@dataclass(frozen=True)
class Contender:
    name: str
    argv: tuple[str, ...]


def contenders() -> list[Contender]:
    devrun = ("devrun", "--reload-exclude", str(REPO / "devserver"), "--shutdown-timeout", SHUTDOWN_TIMEOUT)
    return [
        Contender("devrun threaded", (*devrun, "--backend", "threaded")),
        Contender("devrun single", (*devrun, "--backend", "single")),
        Contender("runserver", ("runserver",)),
    ]


@dataclass
class Results:
    reused_failures: int = 0
    reused_requests: int = 0
    busy_failures: int = 0
    busy_requests: int = 0
    cuts: list[float] = field(default_factory=list)
    exits: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


class Server:
    """One server with its reloader, in a process group of its own (Ctrl-C goes to the group)."""

    def __init__(self, contender: Contender, project: Path, database: Path, log: Path) -> None:
        self.port = free_port()
        self.project = project
        self.text = "Hello, world!"
        self._log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(project / "manage.py"), *contender.argv, f"{HOST}:{self.port}"],
                cwd=project,
                env=server_env(database),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(self.text.encode(), START_TIMEOUT)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=10)

    def get(self, connection: http.client.HTTPConnection | None = None) -> bytes:
        own = connection is None
        connection = connection or self.connection()
        try:
            connection.request("GET", "/hello/")
            return connection.getresponse().read()
        finally:
            if own:
                connection.close()

    def wait_for(self, body: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.get() == body:
                    return
            if self.process.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.005)
        tail = "\n".join(self._log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"never answered {body!r}; the end of its log:\n{tail}")

    def edit(self, text: str) -> float:
        """Serve ``text`` from now on; the time of the write."""
        views = self.project / "shop" / "views.py"
        source = views.read_text()
        started = time.monotonic()
        views.write_text(HELLO.sub(f'HttpResponse("{text}"', source))
        self.text = text
        return started

    def interrupt(self) -> tuple[float, int]:
        """Ctrl-C at a terminal: (seconds until the server exited, its status)."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            status = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            status = self.process.wait()
        return time.monotonic() - started, status

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextlib.contextmanager
def serving(contender: Contender, database: Path, work: Path, label: str) -> Iterator[Server]:
    project = copy_project(work / f"{contender.name.replace(' ', '-')}-{label}")
    server = Server(contender, project, database, work / f"{contender.name.replace(' ', '-')}.log")
    try:
        yield server
    finally:
        server.stop()


class BusyClient(BackgroundClient):
    """Reuses one connection as fast as it can; reconnects after an error, which counts."""

    def __init__(self, server: Server, results: Results) -> None:
        super().__init__()
        self.server, self.results = server, results

    def run(self) -> None:
        connection = self.server.connection()
        while not self.stopping.is_set():
            self.results.busy_requests += 1
            try:
                self.server.get(connection)
            except (OSError, http.client.HTTPException):
                self.results.busy_failures += 1
                connection.close()
                self.stopping.wait(RETRY_AFTER)  # a refused connection fails at once: count failures, not spins
        connection.close()


def measure_reused(contender: Contender, database: Path, work: Path, reloads: int, results: Results) -> None:
    with serving(contender, database, work, "keepalive") as server, BusyClient(server, results):
        idle = server.connection()
        try:
            server.get(idle)
            for number in range(reloads):
                time.sleep(EDIT_GAP)  # the measurement's pacing, not a synchronisation
                server.edit(f"Hello, reload {number}!")
                server.wait_for(server.text.encode(), EDIT_TIMEOUT)  # a fresh connection sees the new code
                results.reused_requests += 1
                try:
                    ok = server.get(idle) == server.text.encode()
                except (OSError, http.client.HTTPException):
                    ok = False
                    idle.close()
                results.reused_failures += not ok
        finally:
            idle.close()


def measure_stream_cuts(contender: Contender, database: Path, work: Path, reloads: int, results: Results) -> None:
    with serving(contender, database, work, "stream") as server:
        for number in range(reloads):
            with socket.create_connection((HOST, server.port), timeout=60) as stream:
                stream.sendall(STREAM)
                stream.recv(65536)  # the head and the first tick
                time.sleep(EDIT_GAP)  # the measurement's pacing, not a synchronisation
                edited = server.edit(f"Hello, stream {number}!")
                with contextlib.suppress(OSError):
                    while stream.recv(65536):
                        pass
                results.cuts.append(time.monotonic() - edited)
            server.wait_for(server.text.encode(), EDIT_TIMEOUT)


def measure_interrupts(contender: Contender, database: Path, work: Path, times: int, results: Results) -> None:
    for number in range(times):
        with (
            serving(contender, database, work, f"interrupt{number}") as server,
            socket.create_connection((HOST, server.port), timeout=60) as stream,
        ):
            stream.sendall(STREAM)
            stream.recv(65536)
            seconds, status = server.interrupt()
            results.exits.append(seconds)
            results.statuses.append(status)


def report(results: dict[str, Results]) -> list[str]:
    lines = [
        f"{'':<17} {'reused conn. failed':>20} {'busy conn. failed':>18} "
        f"{'edit -> stream cut':>19} {'Ctrl-C -> exit':>15} {'status':>7}"
    ]
    for name, result in results.items():
        cut = f"{statistics.median(result.cuts) * 1000:.0f} ms" if result.cuts else "-"
        exit_ = f"{statistics.median(result.exits) * 1000:.0f} ms" if result.exits else "-"
        statuses = ",".join(sorted({str(status) for status in result.statuses})) or "-"
        lines.append(
            f"{name:<17} {f'{result.reused_failures}/{result.reused_requests}':>20} "
            f"{f'{result.busy_failures}/{result.busy_requests}':>18} {cut:>19} {exit_:>15} {statuses:>7}"
        )
    for name, result in results.items():
        if name.startswith("devrun") and result.cuts and result.exits:
            failures = result.reused_failures + result.busy_failures
            lines.append(
                f"{name}: failures {failures} (target 0), worst stream cut {max(result.cuts) * 1000:.0f} ms after"
                f" the edit, worst exit {max(result.exits) * 1000:.0f} ms (target <= 1000 ms, status 0)"
            )
    return lines


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.connections", description=__doc__)
    parser.add_argument("--reloads", type=int, default=20, help="reloads for the keep-alive clients (default: 20)")
    parser.add_argument("--cuts", type=int, default=7, help="reloads with an event stream open (default: 7)")
    parser.add_argument("--interrupts", type=int, default=3, help="Ctrl-C with a stream open (default: 3)")
    parser.add_argument("--only", choices=[c.name for c in contenders()], help="measure one server only")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    results: dict[str, Results] = {}
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-connections-") as directory:
        work = Path(directory)
        for contender in contenders():
            if options.only not in (None, contender.name):
                continue
            result = results[contender.name] = Results()
            print(f"{contender.name}: {options.reloads} reloads with reused connections ...", flush=True)
            measure_reused(contender, database, work, options.reloads, result)
            print(f"{contender.name}: {options.cuts} reloads with an event stream open ...", flush=True)
            measure_stream_cuts(contender, database, work, options.cuts, result)
            print(f"{contender.name}: {options.interrupts} Ctrl-C with an event stream open ...", flush=True)
            measure_interrupts(contender, database, work, options.interrupts, result)
    print("\n".join(report(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
