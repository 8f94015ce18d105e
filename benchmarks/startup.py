"""``python -m benchmarks.startup``: time from launch to the first 200, devrun against runserver.

Both commands run ``testproject/manage.py ... 127.0.0.1:PORT --noreload`` on the same migrated
database, alternately, after one unmeasured warm-up launch each (so neither pays for a cold
file cache or stale bytecode). A launch is timed from just before the process starts to the
first ``200`` from ``GET /hello/`` on a fresh connection; the client retries a refused
connection at once and waits on the process (never a fixed sleep) between tries. Prints every
launch, the median of each command and devrun's median over runserver's.

Bytecode caching is on for the servers even when this shell sets ``PYTHONDONTWRITEBYTECODE``:
Django's own modules were compiled when pip installed them, so without ``.pyc`` files for
devserver and testproject the comparison would time the compiler, not the start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from .servers import HOST, START_TIMEOUT, ServerProcess, ServerSpec, ServerStartError, launch, migrated_database

DEVRUN: Final = ServerSpec("devrun", "devrun", (), "manage.py devrun --noreload")
RUNSERVER: Final = ServerSpec("runserver", "runserver", (), "manage.py runserver --noreload")
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


def launch_once(spec: ServerSpec, database: Path, log_dir: Path, path: str) -> float:
    """One measured launch; the server is stopped (by its pid) before returning."""
    started = time.perf_counter()
    server = launch(spec, database, log_dir, cpu=None)
    try:
        return first_ok(server, path, started)
    finally:
        server.stop()


def measure(launches: int, path: str) -> dict[str, list[float]]:
    """``launches`` timings per command, alternating, after one warm-up each."""
    times: dict[str, list[float]] = {DEVRUN.name: [], RUNSERVER.name: []}
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-startup-") as logs:
        log_dir = Path(logs)
        for spec in (DEVRUN, RUNSERVER):
            launch_once(spec, database, log_dir, path)
        for _ in range(launches):
            for spec in (DEVRUN, RUNSERVER):
                times[spec.name].append(launch_once(spec, database, log_dir, path))
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    lines = []
    medians = {name: statistics.median(values) for name, values in times.items()}
    for spec in (DEVRUN, RUNSERVER):
        runs = " ".join(f"{value * 1000:.0f}" for value in times[spec.name])
        lines.append(f"{spec.description:<32} median {medians[spec.name] * 1000:6.0f} ms   (runs, ms: {runs})")
    ratio = medians[DEVRUN.name] / medians[RUNSERVER.name]
    verdict = "no slower than runserver" if ratio <= 1.0 else "SLOWER than runserver"
    lines.append(f"devrun / runserver: {ratio:.2f}x  ({verdict}; target <= 1.00x)")
    return lines


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--launches", type=int, default=7, help="measured launches per command (default: 7, min 5)")
    parser.add_argument("--path", default=PATH, help=f"the path that must answer 200 (default: {PATH})")
    options = parser.parse_args(argv)
    if options.launches < 5:
        parser.error("--launches must be 5 or more (the median needs them)")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the servers inherit this environment
    print(f"Time from launch to the first 200 for GET {options.path}, median of {options.launches} launches each")
    try:
        times = measure(options.launches, options.path)
    except ServerStartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(report(times)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
