"""``python -m benchmarks.reload``: the reloader against runserver's, side by side.

Each server runs with its reloader on, from its own temporary copy of ``testproject/`` on
the same migrated database, and is measured the same way:

- **edit → new code served**: ``shop/views.py`` is rewritten so ``/hello/`` answers a new
  text; the time runs from just before the write to the first response with that text
  (fresh connections, retried at once when refused). Edits are 1 to 2 s apart (a seeded
  random gap, so runserver's once-a-second poll is met at every phase); one unmeasured
  edit comes first. The median and the spread of the measured edits are reported.
- **failed requests during reloads**: meanwhile a client requests ``/hello/`` every 20 ms on
  a fresh connection, as a browser tab would; every refused or reset connection, timeout
  or non-200 answer counts, together with those of the measuring client.
- **idle CPU**: with N files (default 20,000) added under a template directory (which both
  reloaders watch: Django's template reloader asks for ``**/*`` there), the CPU time of the
  whole process tree (supervisor, server, spare) over a quiet window, in percent of one core.

Targets (issue 4): devrun's median ≤ 0.5 s and ≤ ⅓ of runserver's, 0 failed requests,
idle CPU ≤ 1 %.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import shutil
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
from .proctree import cpu_seconds, process_tree
from .servers import HOST, REPO, START_TIMEOUT, STOP_TIMEOUT, free_port, migrated_database, server_env

HELLO: Final = re.compile(r'HttpResponse\("Hello, [^"]*"')
POLL_EVERY: Final = 0.02
EDIT_TIMEOUT: Final = 30.0
_RETRY_WAIT: Final = 0.002


@dataclass(frozen=True)
class Contender:
    name: str
    argv: tuple[str, ...]
    description: str


def contenders() -> list[Contender]:
    # devserver itself is an editable checkout here, which the reloader would watch as project
    # code; an installed devserver (site-packages) never is. Others may edit it meanwhile.
    exclude = ("--reload-exclude", str(REPO / "devserver"))
    return [
        Contender("devrun", ("devrun", *exclude), "manage.py devrun (watchdog reloader)"),
        Contender("runserver", ("runserver",), "manage.py runserver (StatReloader)"),
    ]


@dataclass
class EditResults:
    seconds: list[float] = field(default_factory=list)
    failures: int = 0
    requests: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def copy_project(destination: Path, bulk_files: int = 0) -> Path:
    shutil.copytree(
        REPO / "testproject",
        destination,
        ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3", "media", "staticfiles"),
    )
    bulk = destination / "shop" / "templates" / "bulk"
    for number in range(bulk_files):
        directory = bulk / f"d{number // 100:03}"
        if number % 100 == 0:
            directory.mkdir(parents=True)
        (directory / f"t{number % 100:02}.html").write_text(f"<p>{number}</p>\n")
    return destination


class Server:
    """One server with its reloader, in its project copy; stopped by its PID."""

    def __init__(self, contender: Contender, project: Path, database: Path, log: Path) -> None:
        self.contender = contender
        self.port = free_port()
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(project / "manage.py"), *contender.argv, f"{HOST}:{self.port}"],
                cwd=project,
                env=server_env(database),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def get(self, timeout: float = 10.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request("GET", "/hello/")
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def wait_for(self, body: bytes, timeout: float, results: EditResults | None = None) -> None:
        """Request until ``/hello/`` answers ``body``; refusals and errors are counted, not fatal."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, answer = self.get()
            except (OSError, http.client.HTTPException):
                status, answer = 0, b""
            if results is not None:
                results.requests += 1
                results.failures += status != 200
            if answer == body:
                return
            if self.process.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(_RETRY_WAIT)
        raise RuntimeError(f"{self.contender.name} never answered {body!r}; log:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def tree(self) -> list[int]:
        """This process and its descendants (the reloader's children, a spare)."""
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serving(contender: Contender, project: Path, database: Path, logs: Path) -> Iterator[Server]:
    server = Server(contender, project, database, logs / f"{contender.name}.log")
    try:
        server.wait_for(b"Hello, world!", START_TIMEOUT)
        yield server
    finally:
        server.stop()


class Poller(BackgroundClient):
    """A client requesting ``/hello/`` every 20 ms on a fresh connection; counts failures."""

    def __init__(self, server: Server, results: EditResults) -> None:
        super().__init__()
        self.server, self.results = server, results

    def run(self) -> None:
        while not self.stopping.wait(POLL_EVERY):
            try:
                status, _ = self.server.get()
            except (OSError, http.client.HTTPException):
                status = 0
            self.results.requests += 1
            self.results.failures += status != 200


def measure_edits(contender: Contender, database: Path, work: Path, edits: int, seed: int) -> EditResults:
    project = copy_project(work / f"{contender.name}-edits")
    views = project / "shop" / "views.py"
    source = views.read_text()
    gaps = random.Random(seed)
    results, warmup = EditResults(), EditResults()
    with serving(contender, project, database, work) as server, Poller(server, results):
        for number in range(edits + 1):
            time.sleep(gaps.uniform(1.0, 2.0))  # the measurement's pacing, not a synchronisation
            text = f"Hello, edit {number}!"
            started = time.perf_counter()
            views.write_text(HELLO.sub(f'HttpResponse("{text}"', source))
            server.wait_for(text.encode(), EDIT_TIMEOUT, results if number else warmup)
            if number:
                results.seconds.append(time.perf_counter() - started)
    return results


def measure_idle_cpu(contender: Contender, database: Path, work: Path, files: int, seconds: float) -> float:
    project = copy_project(work / f"{contender.name}-idle", bulk_files=files)
    with serving(contender, project, database, work) as server:
        settle(server)  # start-up done (the watcher's list, the warm spares): only the idle reloader
        before, started = server.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return (server.cpu_seconds() - before) / (time.monotonic() - started) * 100


def settle(server: Server, quiet: float = 2.0, timeout: float = 60.0) -> None:
    """Wait (with a deadline) until the tree used under 2 % of a core for two one-second
    windows in a row: start-up work goes on beside serving (the watcher's list, the spares)."""
    deadline, calm = time.monotonic() + timeout, 0
    time.sleep(1.0)
    while calm < 2 and time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1.0)  # the measurement's pacing, not a synchronisation
        calm = calm + 1 if (server.cpu_seconds() - before) * 100 < quiet else 0


def report(edits: dict[str, EditResults], idle: dict[str, float], files: int) -> list[str]:
    lines = [f"{'':<40} {'median':>8} {'min':>6} {'max':>6} {'failed':>12} {'idle CPU':>9}"]
    for contender in contenders():
        result, cpu = edits.get(contender.name), idle.get(contender.name)
        timing = (
            f"{result.median * 1000:6.0f}ms {min(result.seconds) * 1000:5.0f}ms {max(result.seconds) * 1000:5.0f}ms "
            f"{result.failures:>5}/{result.requests:<6}"
            if result
            else f"{'-':>8} {'-':>6} {'-':>6} {'-':>12}"
        )
        lines.append(f"{contender.description:<40} {timing} {f'{cpu:.2f}%' if cpu is not None else '-':>9}")
    if "devrun" in edits and "runserver" in edits:
        ratio = edits["devrun"].median / edits["runserver"].median
        median_ok = edits["devrun"].median <= 0.5 and ratio <= 1 / 3
        lines.append(
            f"edit -> served, devrun / runserver: {ratio:.2f}x  "
            f"(target: median <= 500 ms and <= 0.33x: {'met' if median_ok else 'NOT MET'})"
        )
        failed = edits["devrun"].failures
        lines.append(
            f"failed requests during reloads, devrun: {failed} (target: 0: {'met' if not failed else 'NOT MET'})"
        )
    if "devrun" in idle:
        beside = f", runserver's StatReloader {idle['runserver']:.2f}%" if "runserver" in idle else ""
        verdict = "met" if idle["devrun"] <= 1.0 else "NOT MET"
        lines.append(f"idle CPU with {files} files, devrun: {idle['devrun']:.2f}%{beside} (target <= 1%: {verdict})")
    return lines


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reload", description=__doc__)
    parser.add_argument("--edits", type=int, default=12, help="measured edits per server (default: 12, min 10)")
    parser.add_argument("--files", type=int, default=20_000, help="files in the tree for idle CPU (default: 20000)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU window (default: 10)")
    parser.add_argument("--seed", type=int, default=4, help="seed of the gaps between edits")
    parser.add_argument("--only", choices=[c.name for c in contenders()], help="measure one server only")
    parser.add_argument("--skip-idle", action="store_true", help="edits only")
    parser.add_argument("--skip-edits", action="store_true", help="idle CPU only")
    options = parser.parse_args(argv)
    if options.edits < 10:
        parser.error("--edits must be 10 or more (the median needs them)")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as in benchmarks.startup: time starting, not compiling
    if not Path("/proc/self/stat").exists() and not options.skip_idle:
        print("idle CPU needs /proc (Linux); use --skip-idle", file=sys.stderr)
        return 2
    chosen = [c for c in contenders() if options.only in (None, c.name)]
    edits: dict[str, EditResults] = {}
    idle: dict[str, float] = {}
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-reload-") as directory:
        work = Path(directory)
        for contender in chosen:
            if not options.skip_edits:
                print(f"{contender.name}: {options.edits} edits ...", flush=True)
                edits[contender.name] = measure_edits(contender, database, work, options.edits, options.seed)
            if not options.skip_idle:
                print(f"{contender.name}: idle CPU with {options.files} files ...", flush=True)
                idle[contender.name] = measure_idle_cpu(contender, database, work, options.files, options.idle_seconds)
    print("\n".join(report(edits, idle, options.files)))
    for name, result in edits.items():
        print(f"{name} edits, ms: {' '.join(f'{value * 1000:.0f}' for value in result.seconds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
