"""``python -m benchmarks.heavy``: reloading real projects, devrun against runserver, in one run.

Two projects, built by the benchmark (see :mod:`benchmarks.sites`): **heavy**, a Wagtail site
with Django REST framework, django-filter, allauth, debug toolbar and import-export at pinned
versions in a virtualenv of its own (``django.setup()`` is measured and shown: it should take
0.8 s or more), and **modules**, the test project plus 20,000 project modules imported by its
URLconf. Each server runs with its reloader on, in its own copy of the project:

- **launch → first 200** for ``/hello/`` (median of ``--launches``, servers alternating);
- **view edit → new code served**: ``views.py`` rewritten so ``/hello/`` answers a new text,
  timed to the first response with it (median of ``--edits``; a seeded random gap of
  ``--gap`` seconds between edits, one unmeasured edit first);
- **models.py edit → served**: a new field and its migration written, timed to the first
  ``/fields/`` that lists it (median of ``--model-edits``);
- **failed requests** during all those edits: a client on fresh connections every 20 ms, and
  one that keeps a single keep-alive connection (reconnecting after a failure);
- **idle CPU** of the whole process tree over ``--idle-seconds``, once the edits settled;
- **RSS** of every process of the tree (supervisor, serving child, spares).

Targets (issue 10): heavy: a view edit served in ≤ 0.35 s median and ≤ ⅕ of runserver's, a
models.py edit no slower than before the setup spare (see ``docs/reloader.md``), 0 failed
requests, idle CPU ≤ 1 %; modules: launch → first 200 and edit → served no slower than
runserver's, idle CPU ≤ 1 %. The machine's load changes the figures: compare the columns.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .proctree import cpu_seconds, process_tree
from .servers import HOST, REPO, free_port
from .sites import Site, build_heavy, build_modules

CONTENDERS: Final = {
    "devrun": ("devrun", "--reload-exclude", str(REPO / "devserver")),  # this checkout is not project code
    "runserver": ("runserver",),
}
POLL_EVERY: Final = 0.02
GAPS: Final = {"heavy": (2.0, 3.0), "modules": (5.0, 6.0)}
EDIT_TIMEOUT: Final = 90.0
#: An edit not served after this long was missed (runserver's StatReloader misses a change made
#: while its new child takes its first snapshot): it is saved again, and left out of the median.
MISSED_AFTER: Final = 20.0
START_TIMEOUT: Final = 120.0


@dataclass
class Counts:
    requests: int = 0
    failures: int = 0

    def add(self, ok: bool) -> None:
        self.requests += 1
        self.failures += not ok


@dataclass
class Results:
    launch: list[float] = field(default_factory=list)
    view_edits: list[float] = field(default_factory=list)
    model_edits: list[float] = field(default_factory=list)
    fresh: Counts = field(default_factory=Counts)
    keep_alive: Counts = field(default_factory=Counts)
    missed: int = 0
    idle_cpu: float | None = None
    rss: list[tuple[str, float]] = field(default_factory=list)


class Server:
    """A server with its reloader on, in ``site``'s directory; stopped by its PID."""

    def __init__(self, site: Site, contender: str, log: Path) -> None:
        self.site, self.contender, self.port = site, contender, free_port()
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(site.python), str(site.manage), *CONTENDERS[contender], f"{HOST}:{self.port}"],
                cwd=site.root,
                env=site.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.log = log

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def wait_for(self, path: str, accept: bytes, timeout: float, counts: Counts | None = None) -> None:
        """Request ``path`` until its body contains ``accept``; errors are counted, not fatal."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, body = self.get(path)
            except (OSError, http.client.HTTPException):
                status, body = 0, b""
            if counts is not None:
                counts.add(status == 200)
            if accept in body:
                return
            if self.process.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.002)
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"{self.contender} never answered {accept!r} on {path}; log:\n{tail}")

    def tree(self) -> list[int]:
        """This process and its descendants (the reloader's children, a spare)."""
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def settle(self, quiet: float = 2.0, timeout: float = 120.0) -> None:
        """Wait until the tree used under 2 % of a core for two one-second windows in a row
        (start-up work, a spare setting up): the measurement's pacing, with a deadline."""
        deadline, calm = time.monotonic() + timeout, 0
        while calm < 2 and time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(1.0)
            calm = calm + 1 if (self.cpu_seconds() - before) * 100 < quiet else 0

    def rss(self) -> list[tuple[str, float]]:
        """(role, MiB) of every process of the tree."""
        serving = int(self.get("/pid/")[1])
        found = []
        for pid in self.tree():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
                found.append((self.role(pid, serving), kib / 1024))
        return found

    def role(self, pid: int, serving: int) -> str:
        if pid == serving:
            return "serving child"
        if pid == self.process.pid:
            return "supervisor" if self.contender == "devrun" else "autoreloader"
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spare.main('setup'" in command:
            return "spare (set up)"
        if b"spare.main('import'" in command:
            return "spare (Django imported)"
        return "other"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serving(site: Site, contender: str, log: Path) -> Iterator[Server]:
    server = Server(site, contender, log)
    try:
        server.wait_for("/hello/", b"Hello", START_TIMEOUT)
        yield server
    finally:
        server.stop()


class Clients:
    """Two clients polling ``/hello/`` every 20 ms meanwhile: fresh connections, and one
    keep-alive connection (a failure on it is counted, then it reconnects)."""

    def __init__(self, server: Server, results: Results) -> None:
        self.server, self.results = server, results
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._fresh), threading.Thread(target=self._keep_alive)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _fresh(self) -> None:
        while not self._stop.wait(POLL_EVERY):
            try:
                status, _ = self.server.get("/hello/")
            except (OSError, http.client.HTTPException):
                status = 0
            self.results.fresh.add(status == 200)

    def _keep_alive(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.server.port, timeout=30)
        try:
            while not self._stop.wait(POLL_EVERY):
                try:
                    connection.request("GET", "/hello/")
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    connection.close()  # the next request reconnects
                self.results.keep_alive.add(ok)
        finally:
            connection.close()


def edit_view(site: Site, text: str) -> None:
    views = site.app / "views.py"
    source = views.read_text()
    start = source.index('HttpResponse("Hello, ') + len('HttpResponse("')
    end = source.index('"', start)
    views.write_text(source[:start] + text + source[end:])


MIGRATION: Final = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("{app}", "{previous}")]
    operations = [migrations.AddField("note", "{name}", models.IntegerField(default=0))]
"""


def add_field(site: Site, number: int) -> str:
    """A new field on the model, and its migration; returns the field's name."""
    name = f"extra_{number}"
    migrations = site.app / "migrations"
    previous = sorted(path.stem for path in migrations.glob("0*.py"))[-1]
    index = int(previous.split("_", 1)[0]) + 1
    migration = MIGRATION.format(app=site.app.name, previous=previous, name=name)
    (migrations / f"{index:04}_{name}.py").write_text(migration)
    models = site.app / "models.py"
    source = models.read_text()
    marker = "class Note(models.Model):\n"
    body = source.index(marker) + len(marker)
    models.write_text(source[:body] + f"    {name} = models.IntegerField(default=0)\n" + source[body:])
    return name


def measure_edits(site: Site, contender: str, options: argparse.Namespace, logs: Path) -> Results:
    results = Results()
    gaps = random.Random(options.seed)
    gap = options.gap or GAPS[site.name]
    with serving(site, contender, logs / f"{site.name}-{contender}.log") as server:
        with Clients(server, results):
            for number in range(options.edits + 1):
                time.sleep(gaps.uniform(*gap))  # the measurement's pacing, not a synchronisation
                text = f"Hello, edit {number}!"
                started = time.perf_counter()
                edit_view(site, text)
                again_view: Callable[[], object] = lambda: edit_view(site, text)  # noqa: B023, E731
                if served(server, "/hello/", text.encode(), results, again_view) and number:
                    results.view_edits.append(time.perf_counter() - started)
            for number in range(options.model_edits):
                time.sleep(gaps.uniform(*gap))
                started = time.perf_counter()
                name = add_field(site, number)
                models = site.app / "models.py"
                again_model: Callable[[], object] = lambda: models.write_text(models.read_text())  # noqa: B023, E731
                if served(server, "/fields/", name.encode(), results, again_model):
                    results.model_edits.append(time.perf_counter() - started)
        server.settle()  # no client, the last restart and its spares done: only the idle tree
        before, since = server.cpu_seconds(), time.monotonic()
        time.sleep(options.idle_seconds)
        results.idle_cpu = (server.cpu_seconds() - before) / (time.monotonic() - since) * 100
        results.rss = server.rss()
    return results


def served(server: Server, path: str, accept: bytes, results: Results, again: Callable[[], object]) -> bool:
    """Wait for the edit to be served; False if it was missed (then saved ``again`` and served)."""
    try:
        server.wait_for(path, accept, MISSED_AFTER, results.fresh)
        return True
    except RuntimeError:
        results.missed += 1
        again()
        server.wait_for(path, accept, EDIT_TIMEOUT, results.fresh)
        return False


def measure_launches(site: Site, launches: int, logs: Path) -> dict[str, list[float]]:
    """Launch → first 200 of ``/hello/``, the contenders alternating."""
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(launches):
        for contender in CONTENDERS:
            started = time.perf_counter()
            server = Server(site, contender, logs / f"{site.name}-{contender}-launch.log")
            try:
                server.wait_for("/hello/", b"Hello", START_TIMEOUT)
                times[contender].append(time.perf_counter() - started)
            finally:
                server.stop()
    return times


def setup_seconds(site: Site, runs: int = 3) -> float:
    """``django.setup()`` alone in the site's interpreter (median)."""
    code = (
        "import os, sys, time; sys.path.insert(0, os.getcwd()); "
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'heavysite.settings.dev'); "
        "import django; started = time.perf_counter(); django.setup(); print(time.perf_counter() - started)"
    )
    values = [
        float(
            subprocess.run(
                [str(site.python), "-c", code], cwd=site.root, env=site.env, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(values)


def ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values) * 1000:.0f} ms ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"


def report(site: Site, results: dict[str, Results], extra: Sequence[str] = ()) -> list[str]:
    lines = [f"== {site.name} ==", *extra]
    header = f"{'':<10} {'launch -> 200':>22} {'view edit -> served':>24} {'models.py edit -> served':>26}"
    lines.append(header + f" {'failed (fresh)':>15} {'failed (keep-alive)':>20} {'idle CPU':>9} {'missed':>7}")
    for name, result in results.items():
        cpu = f"{result.idle_cpu:.2f}%" if result.idle_cpu is not None else "-"
        lines.append(
            f"{name:<10} {ms(result.launch):>22} {ms(result.view_edits):>24} {ms(result.model_edits):>26} "
            f"{result.fresh.failures:>6}/{result.fresh.requests:<8} "
            f"{result.keep_alive.failures:>8}/{result.keep_alive.requests:<11} {cpu:>9} {result.missed:>7}"
        )
    for name, result in results.items():
        memory = ", ".join(f"{role} {mib:.0f} MiB" for role, mib in result.rss)
        lines.append(f"RSS, {name}: {memory}")
    devrun, runserver = results.get("devrun"), results.get("runserver")
    if devrun and runserver and devrun.view_edits and runserver.view_edits:
        ratio = statistics.median(devrun.view_edits) / statistics.median(runserver.view_edits)
        lines.append(f"view edit, devrun / runserver: {ratio:.2f}x")
    if devrun and runserver and devrun.launch and runserver.launch:
        ratio = statistics.median(devrun.launch) / statistics.median(runserver.launch)
        lines.append(f"launch -> first 200, devrun / runserver: {ratio:.2f}x")
    return lines


def run_site(site: Site, options: argparse.Namespace, logs: Path, extra: Sequence[str] = ()) -> list[str]:
    results = {name: Results() for name in CONTENDERS}
    if options.launches:
        print(f"{site.name}: {options.launches} launches each ...", flush=True)
        for name, times in measure_launches(site, options.launches, logs).items():
            results[name].launch = times
    for name in CONTENDERS if not options.launches_only else ():
        print(f"{site.name}: {name}: {options.edits} view edits, {options.model_edits} models.py edits ...", flush=True)
        measured = measure_edits(copy_site(site, logs / f"{site.name}-{name}"), name, options, logs)
        measured.launch = results[name].launch
        results[name] = measured
    return report(site, results, extra)


def copy_site(site: Site, destination: Path) -> Site:
    """Each contender edits its own copy (the database included)."""
    import shutil

    shutil.copytree(site.root, destination, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    env = {
        key: value.replace(str(site.root), str(destination)) if key in ("HEAVY_DB", "TESTPROJECT_DB") else value
        for key, value in site.env.items()
    }
    return Site(site.name, destination, site.python, env, destination / site.app.relative_to(site.root))


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.heavy", description=__doc__)
    parser.add_argument("--sites", nargs="+", choices=["heavy", "modules"], default=["heavy", "modules"])
    parser.add_argument("--edits", type=int, default=12, help="measured view edits per server (default 12, min 10)")
    parser.add_argument("--model-edits", type=int, default=3, help="models.py edits per server (default 3)")
    parser.add_argument("--launches", type=int, default=3, help="launches per server (default 3; 0: none)")
    parser.add_argument("--modules", type=int, default=20_000, help="modules of the modules site (default 20000)")
    parser.add_argument(
        "--gap",
        type=float,
        nargs=2,
        help="seconds between edits, drawn at random between the two (default: 2 3 for heavy; 5 6 for modules,"
        " where runserver misses a change made before its new child's first scan of 20,000 files)",
    )
    parser.add_argument("--launches-only", action="store_true", help="measure launches only (no edits)")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument(
        "--workdir", type=Path, help="build the projects and keep the servers' logs here (default: a temporary one)"
    )
    options = parser.parse_args(argv)
    if options.edits < 10:
        parser.error("--edits must be 10 or more (the median needs them)")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if not Path("/proc/self/stat").exists():
        print("this benchmark reads /proc (Linux)", file=sys.stderr)
        return 2
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        if options.workdir is not None:
            options.workdir.mkdir(parents=True, exist_ok=True)
            work = options.workdir
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="devserver-heavy-")))
        if "heavy" in options.sites:
            site = build_heavy(work / "heavy")
            setup = setup_seconds(site)
            verdict = "met" if setup >= 0.8 else "NOT MET: the site is too light here"
            lines += run_site(site, options, work, [f"django.setup(): {setup:.2f} s (target >= 0.8 s: {verdict})"])
        if "modules" in options.sites:
            site = build_modules(work / "modules", options.modules)
            lines += run_site(site, options, work)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
