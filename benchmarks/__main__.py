"""``python -m benchmarks``: devrun against runserver on the same views, in one run.

waitress and uWSGI join the run when installed (``pip install waitress uwsgi``), for scale.

The server gets core 0 and wrk core 1 (``taskset``, when present), every server
writes its access log the same way, and the table is followed by one ratio line
per scenario. Results also go to ``benchmarks/results/<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import django

from .inprocess import InProcessResult, measure_pinned
from .servers import REPO, OutputMode, ServerSpec, can_pin, migrated_database, server_specs
from .throughput import (
    CLIENT_CPU,
    SCENARIOS,
    SERVER_CPU,
    Measurement,
    Scenario,
    medians,
    run_matrix,
    wrk_available,
)

RESULTS: Final = Path(__file__).resolve().parent / "results"
DURATION: Final = 10.0
QUICK_DURATION: Final = 2.0
IN_PROCESS: Final = "django-in-process"

#: (faster, baseline, the issue's goal for their best /hello/ rates): the ratios printed after the table.
COMPARISONS: Final = (
    ("devrun-threaded", "runserver", 3.0),
    ("devrun-single", "runserver-nothreading", 2.0),
    ("devrun-single", "devrun-threaded", None),
    ("devrun-threaded", "waitress", None),
    ("devrun-threaded", "uwsgi", None),
    ("devrun-threaded", "uwsgi-quiet", None),
)
#: Servers whose /hello/ keep-alive rate is also shown as a share of the in-process ceiling.
SHARE_OF_CEILING: Final = ("devrun-single", "waitress", "uwsgi", "uwsgi-quiet")


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="seconds per measurement (default: 10)")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_DURATION:g} s runs (unless --duration), fewer scenarios"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="only these scenarios (glob; repeatable; overrides --quick's choice)",
    )
    parser.add_argument("--servers", default="", metavar="A,B", help="only these servers (comma-separated globs)")
    parser.add_argument(
        "--server-output",
        choices=("file", "devnull"),
        default="file",
        help="where every server's stderr (the access log) goes (default: a file)",
    )
    parser.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        metavar="N",
        help="measure every cell N times, in turn, and report the median (default: 1)",
    )
    parser.add_argument("--no-inprocess", action="store_true", help="skip the in-process ceiling")
    parser.add_argument("--list", action="store_true", help="list scenarios and servers, then exit")
    return parser.parse_args(argv)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def matches(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def select(options: argparse.Namespace) -> tuple[list[Scenario], list[ServerSpec]]:
    quick_only = options.quick and not options.scenario
    scenarios = [s for s in SCENARIOS if matches(s.name, options.scenario) and (s.quick or not quick_only)]
    patterns = [p.strip() for p in options.servers.split(",") if p.strip()]
    return scenarios, [spec for spec in server_specs() if matches(spec.name, patterns)]


def format_errors(errors: dict[str, int]) -> str:
    labels = {"status": "non-2xx"}
    return ", ".join(f"{labels.get(kind, kind)} {count}" for kind, count in errors.items()) or "-"


def format_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def short_note(note: str, width: int = 110) -> str:
    """A note on one line: its first line, and its last when there are more (a traceback's error)."""
    lines = [line.strip() for line in note.splitlines() if line.strip()]
    text = " … ".join(lines[:1] + lines[-1:] if len(lines) > 1 else lines)
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(results: Sequence[Measurement]) -> None:
    header = ("scenario", "server", "req/s", "p50 ms", "p99 ms", "max ms", "B/resp", "errors", "note")
    rows = [
        (
            r.scenario,
            r.server,
            "-" if r.requests_per_second is None else f"{r.requests_per_second:,.0f}",
            format_ms(r.p50_ms),
            format_ms(r.p99_ms),
            format_ms(r.max_ms),
            "-" if r.bytes_per_response is None else f"{r.bytes_per_response:,.0f}",
            format_errors(r.errors),
            short_note(r.note),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    right = {2, 3, 4, 5, 6}
    for row in (header, *rows):
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def rate(results: Sequence[Measurement], scenario: str, server: str) -> float | None:
    for r in results:
        if r.scenario == scenario and r.server == server and r.requests_per_second:
            return r.requests_per_second
    return None


def best(results: Sequence[Measurement], server: str, path: str) -> tuple[float, str] | None:
    """A server's best rate on ``path`` over the scenarios run, and which scenario gave it."""
    paths = {s.name: s.path for s in SCENARIOS}
    figures = [
        (r.requests_per_second, r.scenario)
        for r in results
        if r.server == server and paths.get(r.scenario) == path and r.requests_per_second
    ]
    return max(figures, default=None)


def ratio(a: float | None, b: float | None, target: float | None = None) -> str:
    if a is None or b is None:
        return "n/a"
    goal = f" (target ≥ {target:g}x)" if target else ""
    return f"{a / b:.2f}x{goal}"


def scenario_target(baseline: str, scenario: Scenario) -> float | None:
    """The issue's per-scenario goals: static ≥ 3x runserver; single within 15% of threaded on one connection."""
    if baseline == "runserver" and scenario.path.startswith("/static/"):
        return 3.0
    if baseline == "devrun-threaded" and scenario.connections == 1 and not scenario.close:
        return 0.85
    return None


def ratio_line(scenario: Scenario, results: Sequence[Measurement]) -> str:
    present = {r.server for r in results if r.scenario == scenario.name}
    parts = []
    for faster, baseline, _ in COMPARISONS:
        if not {faster, baseline} <= present:
            continue
        figures = rate(results, scenario.name, faster), rate(results, scenario.name, baseline)
        parts.append(f"{faster}/{baseline} {ratio(*figures, scenario_target(baseline, scenario))}")
    return f"{scenario.name}: " + ("; ".join(parts) or "no pair of compared servers was run")


def headline_lines(results: Sequence[Measurement], ceiling: InProcessResult | None) -> list[str]:
    """The issue's /hello/ targets: devrun on keep-alive against each runserver's best /hello/ mode."""
    lines = []
    threaded = rate(results, "hello-keepalive-c1", "devrun-threaded")
    if threaded is not None:
        share = f", {threaded / ceiling.requests_per_second:.0%} of in-process (target ≥ 75%)" if ceiling else ""
        lines.append(f"devrun-threaded /hello/ keep-alive c1: {threaded:,.0f} req/s (target ≥ 4,500){share}")
    for server in SHARE_OF_CEILING:
        figure = rate(results, "hello-keepalive-c1", server)
        if figure is not None and ceiling:
            lines.append(
                f"{server} /hello/ keep-alive c1: {figure:,.0f} req/s,"
                f" {figure / ceiling.requests_per_second:.0%} of in-process"
            )
    for faster, baseline, target in COMPARISONS:
        mine, theirs = best(results, faster, "/hello/"), best(results, baseline, "/hello/")
        if mine and theirs and target:
            lines.append(
                f"best /hello/: {faster} {mine[0]:,.0f} ({mine[1]}) / {baseline} {theirs[0]:,.0f} ({theirs[1]})"
                f" = {ratio(mine[0], theirs[0], target)}"
            )
    return lines


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


def describe_setup(output: OutputMode, duration: float, rounds: int = 1) -> list[str]:
    pinning = (
        f"server on core {SERVER_CPU}, wrk -t1 on core {CLIENT_CPU} (taskset)"
        if can_pin(SERVER_CPU) and can_pin(CLIENT_CPU)
        else "not pinned (taskset or a second core missing): figures are less comparable"
    )
    where = "a log file per server" if output == "file" else "/dev/null"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    repeats = f", median of {rounds} rounds" if rounds > 1 else ""
    return [
        f"{duration:g} s per measurement{repeats}; {pinning}; load average {load:.2f} at start"
        " (above ~0.5: noisy figures)",
        f"server stdout → a log file; stderr (access log) → {where}, the same for every server",
    ]


def in_process_row(duration: float, database: Path, rounds: int) -> tuple[InProcessResult | None, Measurement]:
    """The in-process ceiling on the server's core (the median of ``rounds``), as a table row
    (a failure is a note, not a crash).
    """
    try:
        runs = [measure_pinned(duration, database, SERVER_CPU) for _ in range(rounds)]
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return None, Measurement("hello-inprocess", IN_PROCESS, note=str(error))
    (row,) = medians([Measurement("hello-inprocess", IN_PROCESS, r.requests_per_second, r.requests) for r in runs])
    ceiling = next(r for r in runs if r.requests_per_second == row.requests_per_second)
    return ceiling, row


def report_progress(result: Measurement) -> None:
    figure = "-" if result.requests_per_second is None else f"{result.requests_per_second:,.0f} req/s"
    note = f" ({short_note(result.note)})" if result.note else ""
    print(f"  {result.scenario} x {result.server}: {figure}{note}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    scenarios, specs = select(options)
    duration = options.duration or (QUICK_DURATION if options.quick else DURATION)
    output: OutputMode = options.server_output
    if options.list:
        for scenario in SCENARIOS:
            print(f"scenario {scenario.name:22} {scenario.description}{' (quick)' if scenario.quick else ''}")
        for spec in server_specs():
            print(f"server   {spec.name:22} {spec.description}")
        return 0
    if not wrk_available():
        print("wrk not found; install it with: apt-get install wrk", file=sys.stderr)
        return 1
    if not scenarios or not specs:
        print("nothing to run: no scenario or no server matches the filters (see --list)", file=sys.stderr)
        return 2
    setup = describe_setup(output, duration, options.repeat)
    print("\n".join(setup))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    runs, ceiling = measure_all(
        scenarios,
        specs,
        duration,
        output=output,
        logs=RESULTS / f"{stamp}-logs",
        skip_in_process=options.no_inprocess,
        rounds=options.repeat,
    )
    results = medians(runs)
    print_report(scenarios, results, ceiling)
    path = RESULTS / f"{stamp}.json"
    write_json(
        path,
        {
            "date": datetime.now().isoformat(timespec="seconds"),
            "commit": git_commit(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "setup": setup,
            "duration": duration,
            "scenarios": [asdict(s) for s in scenarios],
            "servers": [s.name for s in specs],
            "in_process": ceiling.as_json() if ceiling else None,
            "rounds": options.repeat,
            "results": [r.as_json() for r in results],
            "runs": [r.as_json() for r in runs],
        },
    )
    print(f"\nresults: {path.relative_to(REPO)}")
    return 0


def measure_all(
    scenarios: Sequence[Scenario],
    specs: Sequence[ServerSpec],
    duration: float,
    *,
    output: OutputMode,
    logs: Path,
    skip_in_process: bool,
    rounds: int = 1,
) -> tuple[list[Measurement], InProcessResult | None]:
    """The in-process ceiling, then the matrix, on one migrated database; logs kept only for failures."""
    logs.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    ceiling: InProcessResult | None = None
    with migrated_database() as database:
        if not skip_in_process and any(s.path == "/hello/" for s in scenarios):
            ceiling, row = in_process_row(duration, database, rounds)
            results.append(row)
        results += run_matrix(
            scenarios,
            specs,
            duration,
            database=database,
            output=output,
            log_dir=logs,
            rounds=rounds,
            progress=report_progress,
        )
    if not any(logs.iterdir()):
        logs.rmdir()
    return results, ceiling


def print_report(
    scenarios: Sequence[Scenario], results: Sequence[Measurement], ceiling: InProcessResult | None
) -> None:
    print()
    print_table(results)
    print()
    for scenario in scenarios:
        print(ratio_line(scenario, results))
    headline = headline_lines(results, ceiling)
    if headline:
        print("\nagainst the issue's targets (noisy unless the machine is quiet):")
        for line in headline:
            print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
