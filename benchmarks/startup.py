"""``python -m benchmarks.startup``: time from launch to the first 200, devrun against runserver.

Both commands run ``testproject/manage.py ... 127.0.0.1:PORT --noreload`` on the same migrated
database, alternately, after one unmeasured warm-up launch each (so neither pays for a cold
file cache or stale bytecode). ``--reloader`` measures the ways in with the reloader on
instead: ``manage.py devrun`` with its in-process supervisor (``DEVSERVER_NO_HANDOVER=1``) and
handed over to the launcher, ``python -m devserver``, ``manage.py runserver`` with the
``devserver.runserver`` app, and Django's ``runserver``; each runs in a process group of its
own, stopped as a group (Django's reloader leaves its child behind when only the parent is
signalled). ``--models-delay 0.5`` runs them on a copy whose models take that long to import,
the shape of a project with a heavy set-up. A launch is timed from just before the process
starts to the first ``200`` from ``GET /hello/`` on a fresh connection; the client retries a
refused connection at once and waits on the process (never a fixed sleep) between tries.
Prints every launch, the median of each command and each one's median over runserver's.

Bytecode caching is on for the servers even when this shell sets ``PYTHONDONTWRITEBYTECODE``:
Django's own modules were compiled when pip installed them, so without ``.pyc`` files for
devserver and testproject the comparison would time the compiler, not the start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from .servers import (
    HOST,
    MANAGE,
    REPO,
    START_TIMEOUT,
    STOP_TIMEOUT,
    ServerProcess,
    ServerSpec,
    ServerStartError,
    free_port,
    launch,
    migrated_database,
    server_env,
)

DEVRUN: Final = ServerSpec("devrun", "devrun", (), "manage.py devrun --noreload")
RUNSERVER: Final = ServerSpec("runserver", "runserver", (), "manage.py runserver --noreload")


def reloader_specs(manage: Path) -> list[tuple[ServerSpec, Mapping[str, str]]]:
    """With the reloader on: (spec, extra environment). runserver comes last: the ratios are against it."""
    python_manage = (sys.executable, "-u", str(manage))
    python_m_devserver = (sys.executable, "-u", "-m", "devserver", "--manage", str(manage))
    return [
        (
            ServerSpec(
                "devrun-in-process", (*python_manage, "devrun", "{address}"), (), "manage.py devrun (in-process)"
            ),
            {"DEVSERVER_NO_HANDOVER": "1"},
        ),
        (ServerSpec("devrun", (*python_manage, "devrun", "{address}"), (), "manage.py devrun (handed over)"), {}),
        (ServerSpec("python-m-devserver", (*python_m_devserver, "{address}"), (), "python -m devserver"), {}),
        (
            ServerSpec(
                "runserver-app", (*python_manage, "runserver", "{address}"), (), "runserver + devserver.runserver"
            ),
            {"TESTPROJECT_FIRST_APPS": "devserver.runserver"},
        ),
        (ServerSpec("runserver", (*python_manage, "runserver", "{address}"), (), "manage.py runserver"), {}),
    ]


@contextlib.contextmanager
def slow_models_project(delay: float) -> Iterator[Path]:
    """A copy of testproject whose ``shop/models.py`` takes ``delay`` seconds to import: the
    shape of a project whose set-up is heavy (a reloader's parent that runs ``django.setup()``
    pays it once more). Yields its manage.py."""
    with tempfile.TemporaryDirectory(prefix="devserver-startup-project-") as directory:
        root = Path(directory) / "testproject"
        shutil.copytree(MANAGE.parent, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "media"))
        models = root / "shop" / "models.py"
        models.write_text(f"import time\n\ntime.sleep({delay!r})  # heavy imports\n" + models.read_text())
        yield root / "manage.py"


PATH: Final = "/hello/"
#: Between refused connections: short enough for millisecond resolution, long enough to leave the CPU
#: to the server that is starting.
_RETRY_WAIT: Final = 0.002


def first_ok(server: ServerProcess, path: str, started: float, timeout: float = START_TIMEOUT) -> float:
    """Seconds from ``started`` to the first 200 for ``path``; ServerStartError if it exits or times out."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter() - started
        except ConnectionRefusedError:
            pass
        finally:
            connection.close()
        if server.process.poll() is not None:
            raise ServerStartError(
                f"{server.spec.name} exited with status {server.process.returncode}:\n{server.tail()}"
            )
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(_RETRY_WAIT)  # returns early if the server dies
    raise ServerStartError(f"{server.spec.name} gave no 200 for {path} within {timeout:g} s:\n{server.tail()}")


def launch_once(spec: ServerSpec, database: Path, log_dir: Path, path: str, env: Mapping[str, str] | None) -> float:
    """One measured launch; the server is stopped (by its pid, or its process group with
    ``env`` given: the reloader's runs) before returning."""
    started = time.perf_counter()
    server = launch(spec, database, log_dir, cpu=None) if env is None else launch_group(spec, database, log_dir, env)
    try:
        return first_ok(server, path, started)
    finally:
        if env is None:
            server.stop()
        else:
            stop_group(server)


def launch_group(spec: ServerSpec, database: Path, log_dir: Path, env: Mapping[str, str]) -> ServerProcess:
    """``spec`` in a process group of its own (a reloader's parent and children)."""
    port = free_port()
    log = log_dir / f"{spec.name}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            spec.argv(port),
            cwd=REPO,
            env=server_env(database, env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServerProcess(spec, process, port, log)


def stop_group(server: ServerProcess) -> None:
    """SIGTERM to the group we started, SIGKILL to what is left of it after the timeout."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # a child its parent left behind


def measure(
    specs: Sequence[tuple[ServerSpec, Mapping[str, str] | None]], launches: int, path: str
) -> dict[str, list[float]]:
    """``launches`` timings per command, alternating, after one warm-up each."""
    times: dict[str, list[float]] = {spec.name: [] for spec, _ in specs}
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-startup-") as logs:
        log_dir = Path(logs)
        for spec, env in specs:
            launch_once(spec, database, log_dir, path, env)
        for _ in range(launches):
            for spec, env in specs:
                times[spec.name].append(launch_once(spec, database, log_dir, path, env))
    return times


def report(specs: Sequence[ServerSpec], times: dict[str, list[float]]) -> list[str]:
    """Each command's median and runs, then each one's ratio to the last (runserver)."""
    lines = []
    medians = {name: statistics.median(values) for name, values in times.items()}
    for spec in specs:
        runs = " ".join(f"{value * 1000:.0f}" for value in times[spec.name])
        lines.append(f"{spec.description:<32} median {medians[spec.name] * 1000:6.0f} ms   (runs, ms: {runs})")
    *contenders, baseline = specs
    for spec in contenders:
        ratio = medians[spec.name] / medians[baseline.name]
        verdict = "no slower than runserver" if ratio <= 1.0 else "SLOWER than runserver"
        lines.append(f"{spec.description} / runserver: {ratio:.2f}x  ({verdict}; target <= 1.00x)")
    return lines


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--launches", type=int, default=7, help="measured launches per command (default: 7, min 5)")
    parser.add_argument("--path", default=PATH, help=f"the path that must answer 200 (default: {PATH})")
    parser.add_argument("--reloader", action="store_true", help="the ways in with the reloader on (not --noreload)")
    parser.add_argument(
        "--models-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --reloader: a copy of testproject whose models.py takes this long to import (a heavy set-up)",
    )
    options = parser.parse_args(argv)
    if options.launches < 5:
        parser.error("--launches must be 5 or more (the median needs them)")
    if options.models_delay and not options.reloader:
        parser.error("--models-delay needs --reloader")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the servers inherit this environment
    mode = "reloader on" if options.reloader else "--noreload"
    if options.models_delay:
        mode += f", models.py takes {options.models_delay:g} s to import"
    print(f"Time from launch to the first 200 for GET {options.path} ({mode}), median of {options.launches} each")
    with contextlib.ExitStack() as stack:
        manage = stack.enter_context(slow_models_project(options.models_delay)) if options.models_delay else MANAGE
        specs: Sequence[tuple[ServerSpec, Mapping[str, str] | None]] = (
            reloader_specs(manage) if options.reloader else ((DEVRUN, None), (RUNSERVER, None))
        )
        try:
            times = measure(specs, options.launches, options.path)
        except ServerStartError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print("\n".join(report([spec for spec, _ in specs], times)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
