"""``python -m benchmarks.sql``: what counting each request's SQL costs, on and off side by side.

devrun (threaded backend) serves the same view twice per round: with the SQL summary on (the
default with ``DEBUG = True``) and with ``DEVSERVER = {"SQL_SUMMARY": False}``. wrk measures
one keep-alive connection on its own core, a fresh server per cell, servers in turn each round
so a noisy minute touches both alike; the table shows each side's median and the ratio. The
issue's target: within 5 % on a view that runs no query (``/hello/``). "round ratios" is the
median of each round's on/off ratio (both measured back to back, in alternating order), which
resists a noisy minute better than the ratio of the medians. ``/orders/`` (one query)
and ``/orders/?naive=1`` (21 queries) show the cost per query.

A second figure needs no server: the accounting's own cost per request (``begin``, ``end``,
the access-line suffix), timed in a loop in this process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from .servers import ServerSpec, ServerStartError, launch, migrated_database
from .throughput import SERVER_CPU, WRK_SCRIPT, Measurement, Scenario, check_response, run_wrk, wrk_available

RESULTS: Final = Path(__file__).resolve().parent / "results"
SPEC: Final = ServerSpec("devrun-threaded", "devrun", ("--backend", "threaded"), "manage.py devrun")
SIDES: Final = {"sql-on": "{}", "sql-off": json.dumps({"SQL_SUMMARY": False})}
PATHS: Final = ("/hello/", "/orders/", "/orders/?naive=1")
TARGET: Final = 0.95


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sql", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, metavar="SECONDS", help="per cell (default: 8)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="cells per side and path (default: 3)")
    parser.add_argument("--path", action="append", metavar="PATH", help=f"only these paths (default: {PATHS})")
    return parser.parse_args(argv)


def measure_cell(side: str, path: str, *, duration: float, database: Path, logs: Path, script: Path) -> Measurement:
    scenario = Scenario(f"{side} {path}", path, 1)
    server = launch(SPEC, database, logs, cpu=SERVER_CPU, env={"TESTPROJECT_DEVSERVER": SIDES[side]})
    try:
        server.wait_ready()
        problem = check_response(server.port, path) or check_response(server.port, path)
        if problem:
            return Measurement(scenario.name, side, note=problem)
        return run_wrk(server, scenario, duration, script)
    except ServerStartError as error:
        return Measurement(scenario.name, side, note=f"did not start: {error}")
    finally:
        server.stop()


def accounting_cost(requests: int = 200_000) -> float:
    """Nanoseconds per request of begin + end + suffix, with no query (the /hello/ case)."""
    from devserver.sql.accounting import QueryAccounting

    accounting = QueryAccounting()
    started = time.perf_counter()
    for _ in range(requests):
        tally = accounting.begin()
        tally.end()
        tally.suffix()
        tally.warn_repeats("GET / HTTP/1.1")
    return (time.perf_counter() - started) / requests * 1e9


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)")
        return 1
    paths = options.path or list(PATHS)
    rates: dict[tuple[str, str], list[float]] = {}
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-sql-") as scratch:
        script = Path(scratch) / "report.lua"
        script.write_text(WRK_SCRIPT)
        for path in paths:
            for round_number in range(options.rounds):
                order = list(SIDES) if round_number % 2 == 0 else list(reversed(SIDES))  # cancels drift
                for side in order:
                    result = measure_cell(
                        side, path, duration=options.duration, database=database, logs=Path(scratch), script=script
                    )
                    figure = f"{result.requests_per_second:,.0f} req/s" if result.requests_per_second else result.note
                    print(f"  {path} {side} round {round_number + 1}: {figure}", flush=True)
                    if result.requests_per_second:
                        rates.setdefault((path, side), []).append(result.requests_per_second)
    print()
    print(f"{'path':<20} {'SQL summary on':>15} {'off':>10} {'on/off':>8} {'round ratios':>13}")
    summary: list[dict[str, object]] = []
    for path in paths:
        on_rates, off_rates = (rates.get((path, side)) or [0.0] for side in SIDES)
        on, off = statistics.median(on_rates), statistics.median(off_rates)
        ratio = on / off if off else 0.0
        # Each round measured both sides back to back: the median of those ratios resists a noisy minute.
        paired = statistics.median(a / b for a, b in zip(on_rates, off_rates, strict=False) if b) if off else 0.0
        goal = f"  (target ≥ {TARGET:.2f})" if path == "/hello/" else ""
        print(f"{path:<20} {on:>15,.0f} {off:>10,.0f} {ratio:>8.3f} {paired:>13.3f}{goal}")
        summary.append({"path": path, "on": on, "off": off, "ratio": ratio, "median_round_ratio": paired})
    cost = accounting_cost()
    print(f"\nThe accounting alone, per request without queries: {cost:,.0f} ns (in this process, no server)")
    RESULTS.mkdir(exist_ok=True)
    output = RESULTS / f"sql-{datetime.now():%Y%m%d-%H%M%S}.json"
    cells = [{"path": path, "side": side, "rates": figures} for (path, side), figures in rates.items()]
    output.write_text(json.dumps({"paths": summary, "accounting_ns": cost, "cells": cells}, indent=2))
    print(f"Results: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
