"""``python -m benchmarks.asgi``: devrun's asyncio backend against uvicorn and daphne, in one run,
on the same async Django project (testproject with ``TESTPROJECT_ASGI=1``: Django for HTTP,
Channels for websockets).

Scenarios: a sync view and an async view with keep-alive (wrk, as ``python -m benchmarks``
runs it: server on core 0, ``wrk -t1`` on core 1), and websocket echo round trips per second
(``benchmarks.wsecho``, on core 1). For the Django views, the ceiling (Django's ASGI handler
called in-process, ``benchmarks.asgi_inprocess``) is measured beside them. Every server writes
its access log the same way (to a file).
uvicorn runs with httptools and, when installed, uvloop (as devrun does); the peers come from
``pip install -e '.[bench]'`` and are never needed to serve.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import django

from .__main__ import RESULTS, format_ms, git_commit, print_table, write_json
from .servers import REPO, ServerProcess, ServerSpec, ServerStartError, can_pin, migrated_database, pinned, running
from .throughput import (
    CLIENT_CPU,
    SERVER_CPU,
    WRK_SCRIPT,
    Measurement,
    Scenario,
    check_response,
    medians,
    run_wrk,
    wrk_available,
)

DURATION: Final = 10.0
QUICK_DURATION: Final = 3.0
PROJECT: Final = REPO / "testproject"
APPLICATION: Final = "benchmarks.asgi_app:application"
#: Every server: the async test project, with benchmarks/ and testproject/ importable.
ASGI_ENV: Final = (
    ("TESTPROJECT_ASGI", "1"),
    ("TESTPROJECT_ASGI_APPLICATION", APPLICATION.replace(":", ".")),
    ("PYTHONPATH", f"{REPO}:{PROJECT}"),
)

HTTP_SCENARIOS: Final = (
    Scenario(
        "raw-keepalive-c1", "/raw/", 1, quick=True, description="ASGI hello without Django: the server's own cost"
    ),
    Scenario("sync-keepalive-c1", "/hello/", 1, quick=True, description="sync view, keep-alive, 1 connection"),
    Scenario("async-keepalive-c1", "/hello-async/", 1, quick=True, description="async view, keep-alive, 1 connection"),
    Scenario("sync-keepalive-c10", "/hello/", 10, description="sync view, keep-alive, 10 connections"),
    Scenario("async-keepalive-c10", "/hello-async/", 10, description="async view, keep-alive, 10 connections"),
)


@dataclass(frozen=True)
class EchoScenario:
    name: str
    connections: int
    path: str = "/ws/echo/"
    quick: bool = False
    description: str = ""


ECHO_SCENARIOS: Final = (
    EchoScenario("ws-echo-c1", 1, quick=True, description="Channels echo consumer, 1 connection"),
    EchoScenario("ws-echo-c10", 10, quick=True, description="Channels echo consumer, 10 connections"),
    EchoScenario("ws-raw-echo-c1", 1, "/raw-ws/", description="ASGI echo without Channels: the server's own cost"),
    EchoScenario("ws-raw-echo-c10", 10, "/raw-ws/", quick=True, description="the same, 10 connections"),
)
#: (faster, baseline, target): the issue's goals, as ratios printed after the table.
COMPARISONS: Final = (("devrun-asyncio", "uvicorn", 1.0), ("devrun-asyncio", "daphne", 2.0))
IN_PROCESS: Final = "django-in-process"
#: Paths served by Django's ASGI handler: their in-process ceiling is measured too.
DJANGO_PATHS: Final = ("/hello/", "/hello-async/")


def server_specs() -> list[ServerSpec]:
    """devrun (asyncio backend), then uvicorn and daphne when installed."""
    specs = [
        ServerSpec("devrun-asyncio", "devrun", (), "manage.py devrun (ASGI_APPLICATION: asyncio backend)", ASGI_ENV)
    ]
    python = sys.executable
    if importlib.util.find_spec("uvicorn") is not None:
        loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
        uvicorn = (
            *(python, "-m", "uvicorn", APPLICATION, "--app-dir", str(REPO), "--http", "httptools"),
            *("--loop", loop, "--host", "127.0.0.1", "--port", "{port}", "--lifespan", "auto"),
        )
        specs.append(ServerSpec("uvicorn", uvicorn, (), f"uvicorn --http httptools --loop {loop}", ASGI_ENV))
    if importlib.util.find_spec("daphne") is not None:
        daphne = (python, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", APPLICATION)
        specs.append(ServerSpec("daphne", daphne, (), "daphne (Twisted)", ASGI_ENV))
    return specs


def run_echo(server: ServerProcess, scenario: EchoScenario, duration: float) -> Measurement:
    url = f"ws://127.0.0.1:{server.port}{scenario.path}"
    argv = [sys.executable, "-m", "benchmarks.wsecho", url, f"--connections={scenario.connections}"]
    argv.append(f"--duration={duration:g}")
    try:
        done = subprocess.run(
            pinned(argv, CLIENT_CPU), cwd=REPO, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired:
        return Measurement(scenario.name, server.spec.name, note="the echo client did not finish")
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Measurement(scenario.name, server.spec.name, note=f"echo client failed: {done.stderr.strip()[-200:]}")
    if "error" in result:
        return Measurement(scenario.name, server.spec.name, note=str(result["error"]))
    return Measurement(
        scenario.name,
        server.spec.name,
        requests_per_second=result["round_trips_per_second"],
        requests=int(result["round_trips"]),
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
    )


def measure(
    spec: ServerSpec,
    scenario: Scenario | EchoScenario,
    duration: float,
    *,
    database: Path,
    logs: Path,
    script: Path,
) -> Measurement:
    """A fresh server for one cell: check and warm the path, measure, note if the server died."""
    try:
        with running(spec, database, logs, cpu=SERVER_CPU) as server:
            if isinstance(scenario, Scenario):
                for _ in range(3):
                    if problem := check_response(server.port, scenario.path):
                        return Measurement(scenario.name, spec.name, note=problem)
                result = run_wrk(server, scenario, duration, script)
            else:
                run_echo(server, EchoScenario("warm-up", 1, scenario.path), 0.5)
                result = run_echo(server, scenario, duration)
            if (code := server.process.poll()) is not None:
                result.note = f"server exited with status {code} during the run"
    except ServerStartError as error:
        return Measurement(scenario.name, spec.name, note=f"did not start: {error}")
    if result.note:
        result.note += f" (server log: {server.log})"
    else:
        server.log.unlink(missing_ok=True)
    return result


def measure_in_process(scenario: Scenario, duration: float) -> Measurement:
    """Django's ASGI handler on this scenario's path with no server at all, on the server's core."""
    argv = [sys.executable, "-m", "benchmarks.asgi_inprocess", scenario.path, f"{duration:g}"]
    env = {**os.environ, **dict(ASGI_ENV)}
    try:
        done = subprocess.run(
            pinned(argv, SERVER_CPU),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, IndexError, ValueError):
        return Measurement(scenario.name, IN_PROCESS, note="the in-process measurement failed")
    return Measurement(scenario.name, IN_PROCESS, result["requests_per_second"], int(result["requests"]))


def ratio_lines(scenarios: Sequence[Scenario | EchoScenario], results: Sequence[Measurement]) -> list[str]:
    rates = {(r.scenario, r.server): r.requests_per_second for r in results if r.requests_per_second}
    lines = []
    for scenario in scenarios:
        parts = []
        ceiling = rates.get((scenario.name, IN_PROCESS))
        if ceiling:
            shares = [
                f"{server} {rate / ceiling:.0%}"
                for (name, server), rate in rates.items()
                if name == scenario.name and server != IN_PROCESS and rate
            ]
            parts.append("of the in-process ceiling: " + ", ".join(shares))
        for faster, baseline, target in COMPARISONS:
            mine, theirs = rates.get((scenario.name, faster)), rates.get((scenario.name, baseline))
            if mine and theirs:
                verdict = "met" if mine / theirs >= target else "NOT met"
                parts.append(f"{faster}/{baseline} {mine / theirs:.2f}x (target ≥ {target:g}x: {verdict})")
        lines.append(f"{scenario.name}: " + ("; ".join(parts) or "no pair of compared servers was run"))
    return lines


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asgi", description=__doc__)
    parser.add_argument(
        "--duration", type=float, metavar="SECONDS", help=f"seconds per measurement (default {DURATION:g})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DURATION:g} s runs, fewer scenarios")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME", help="only these (glob; repeatable)")
    parser.add_argument("--servers", default="", metavar="A,B", help="only these servers (comma-separated globs)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="measure every cell N times (median)")
    parser.add_argument("--list", action="store_true", help="list scenarios and servers, then exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    duration = options.duration or (QUICK_DURATION if options.quick else DURATION)
    every: list[Scenario | EchoScenario] = [*HTTP_SCENARIOS, *ECHO_SCENARIOS]
    quick_only = options.quick and not options.scenario
    scenarios = [
        s
        for s in every
        if (not options.scenario or any(fnmatch.fnmatchcase(s.name, p) for p in options.scenario))
        and (s.quick or not quick_only)
    ]
    patterns = [p.strip() for p in options.servers.split(",") if p.strip()]
    specs = [s for s in server_specs() if not patterns or any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    if options.list:
        for scenario in every:
            print(f"scenario {scenario.name:22} {scenario.description}{' (quick)' if scenario.quick else ''}")
        for spec in server_specs():
            print(f"server   {spec.name:22} {spec.description}")
        return 0
    if not wrk_available():
        print("wrk not found; install it with: apt-get install wrk", file=sys.stderr)
        return 1
    missing = [name for name in ("uvicorn", "daphne") if name not in {s.name for s in server_specs()}]
    if missing:
        print(f"not installed, so not measured: {', '.join(missing)} (pip install -e '.[bench]')", file=sys.stderr)
    pinning = "server on core 0, clients on core 1" if can_pin(SERVER_CPU) and can_pin(CLIENT_CPU) else "not pinned"
    print(f"{duration:g} s per measurement, {pinning}; access logs to a file for every server")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / f"{stamp}-asgi-logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs: list[Measurement] = []
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-asgi-") as scratch:
        script = Path(scratch) / "report.lua"
        script.write_text(WRK_SCRIPT)
        for scenario in scenarios:
            for _ in range(max(options.repeat, 1)):
                if isinstance(scenario, Scenario) and scenario.path in DJANGO_PATHS:
                    runs.append(measure_in_process(scenario, duration))
                for spec in specs:
                    result = measure(spec, scenario, duration, database=database, logs=logs, script=script)
                    figure = "-" if result.requests_per_second is None else f"{result.requests_per_second:,.0f}/s"
                    print(f"  {scenario.name} x {spec.name}: {figure} {result.note}", file=sys.stderr, flush=True)
                    runs.append(result)
    if not any(logs.iterdir()):
        logs.rmdir()
    results = medians(runs)
    print()
    print_table(results)
    print()
    for line in ratio_lines(scenarios, results):
        print(line)
    path = RESULTS / f"{stamp}-asgi.json"
    write_json(
        path,
        {
            "date": datetime.now().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "duration": duration,
            "servers": [asdict(s) for s in specs],
            "results": [r.as_json() for r in results],
            "runs": [r.as_json() for r in runs],
            "latency_ms_p50": {f"{r.scenario}/{r.server}": format_ms(r.p50_ms) for r in results},
        },
    )
    print(f"\nresults: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
