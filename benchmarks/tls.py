"""``python -m benchmarks.tls``: what HTTPS costs, beside plain HTTP, on both WSGI backends.

Each backend serves the same path over plain HTTP and over HTTPS (``--cert-file``, a
certificate made for the run: ECDSA P-256, TLS 1.3 as wrk negotiates it). wrk measures one
connection on its own core, a fresh server per cell, the two sides back to back in each round
(in alternating order, so a drift touches both alike). The table shows each side's median, the
ratio of the medians and the median of the rounds' ratios (the figure that resists a noisy
minute best). Scenarios:

- ``hello-keepalive``: ``/hello/`` on one keep-alive connection: the per-request cost of TLS
  (encrypting and decrypting a record each way);
- ``hello-close``: ``Connection: close``, so every request pays a full handshake;
- ``static-keepalive``: the 100 KB static file: plain HTTP sends it with ``sendfile``, HTTPS
  reads and encrypts it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from .servers import HOST, ServerProcess, ServerSpec, ServerStartError, launch, migrated_database
from .throughput import (
    EXPECTED,
    SERVER_CPU,
    WRK_SCRIPT,
    Measurement,
    Scenario,
    measurement_from,
    parse_wrk,
    wrk_available,
    wrk_command,
)

RESULTS: Final = Path(__file__).resolve().parent / "results"
BACKENDS: Final = ("threaded", "single")
SIDES: Final = ("http", "https")
SCENARIOS: Final = {
    "hello-keepalive": Scenario("hello-keepalive", "/hello/", 1),
    "hello-close": Scenario("hello-close", "/hello/", 1, close=True),
    "static-keepalive": Scenario("static-keepalive", "/static/shop/site.css", 1),
}


@dataclass(frozen=True)
class Cell:
    backend: str
    side: str
    scenario: Scenario

    @property
    def name(self) -> str:
        return f"devrun-{self.backend} {self.side}"


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tls", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, metavar="SECONDS", help="per cell (default: 8)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="cells per side (default: 3)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="only these scenarios (repeatable; default: all)",
    )
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="only these backends (default: both)")
    return parser.parse_args(argv)


def check(port: int, path: str, *, https: bool, timeout: float = 10.0) -> str:
    """Empty when ``path`` answers 200 with the expected body (which warms the server up too)."""
    if https:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the tests verify; this measures
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            HOST, port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"GET {path}: {type(error).__name__}: {error}"
    finally:
        connection.close()
    if response.status != 200 or not EXPECTED.get(path, bool)(body):
        return f"GET {path}: status {response.status}, {len(body)} bytes"
    return ""


def measure(cell: Cell, *, cert: Path, duration: float, database: Path, scratch: Path, script: Path) -> Measurement:
    https = cell.side == "https"
    options = ("--backend", cell.backend, *(("--cert-file", str(cert)) if https else ()))
    spec = ServerSpec(cell.name, "devrun", options, f"manage.py devrun {' '.join(options)}")
    server = launch(spec, database, scratch, cpu=SERVER_CPU)
    try:
        server.wait_ready()
        problem = check(server.port, cell.scenario.path, https=https) or check(
            server.port, cell.scenario.path, https=https
        )
        if problem:
            return Measurement(cell.scenario.name, cell.name, note=problem)
        return run_wrk(server, cell.scenario, duration, script, https=https)
    except ServerStartError as error:
        return Measurement(cell.scenario.name, cell.name, note=f"did not start: {error}")
    finally:
        server.stop()


def run_wrk(server: ServerProcess, scenario: Scenario, duration: float, script: Path, *, https: bool) -> Measurement:
    url = f"{'https' if https else 'http'}://{HOST}:{server.port}{scenario.path}"
    argv = wrk_command(url, scenario, duration, script)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    except subprocess.TimeoutExpired:
        return Measurement(scenario.name, server.spec.name, note="wrk did not finish")
    summary = parse_wrk(done.stdout)
    if summary is None:
        return Measurement(scenario.name, server.spec.name, note=f"wrk failed: {done.stderr.strip()[-200:]}")
    return measurement_from(scenario.name, server.spec.name, summary)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if not wrk_available():
        print("wrk is not installed (apt-get install wrk)")
        return 1
    from devserver.tls.certificates import write_self_signed  # needs the https extra

    scenarios = [SCENARIOS[name] for name in options.scenario or SCENARIOS]
    backends = options.backend or list(BACKENDS)
    rates: dict[tuple[str, str, str], list[float]] = {}
    notes: list[str] = []
    with migrated_database() as database, tempfile.TemporaryDirectory(prefix="devserver-tls-") as scratch:
        cert = Path(scratch) / "bench.pem"
        write_self_signed(cert, None)
        script = Path(scratch) / "report.lua"
        script.write_text(WRK_SCRIPT)
        for scenario in scenarios:
            for backend in backends:
                for number in range(options.rounds):
                    sides = SIDES if number % 2 == 0 else tuple(reversed(SIDES))
                    for side in sides:
                        cell = Cell(backend, side, scenario)
                        result = measure(
                            cell,
                            cert=cert,
                            duration=options.duration,
                            database=database,
                            scratch=Path(scratch),
                            script=script,
                        )
                        figure = (
                            f"{result.requests_per_second:,.0f} req/s" if result.requests_per_second else result.note
                        )
                        errors = f" (errors: {result.errors})" if result.errors else ""
                        print(f"  {scenario.name} {cell.name} round {number + 1}: {figure}{errors}", flush=True)
                        if result.requests_per_second:
                            rates.setdefault((scenario.name, backend, side), []).append(result.requests_per_second)
                        elif result.note:
                            notes.append(f"{scenario.name} {cell.name}: {result.note}")
    summary = report(scenarios, backends, rates)
    for note in notes:
        print(f"note: {note}")
    RESULTS.mkdir(exist_ok=True)
    output = RESULTS / f"tls-{datetime.now():%Y%m%d-%H%M%S}.json"
    cells = [{"scenario": s, "backend": b, "side": side, "rates": r} for (s, b, side), r in rates.items()]
    output.write_text(json.dumps({"summary": summary, "cells": cells, "duration": options.duration}, indent=2))
    print(f"Results: {output}")
    return 0


def report(
    scenarios: Sequence[Scenario], backends: Sequence[str], rates: dict[tuple[str, str, str], list[float]]
) -> list[dict[str, object]]:
    print()
    print(f"{'scenario':<18} {'backend':<9} {'http':>9} {'https':>9} {'https/http':>11} {'round ratios':>13}")
    summary: list[dict[str, object]] = []
    for scenario in scenarios:
        for backend in backends:
            plain = rates.get((scenario.name, backend, "http")) or [0.0]
            tls = rates.get((scenario.name, backend, "https")) or [0.0]
            plain_median, tls_median = statistics.median(plain), statistics.median(tls)
            ratio = tls_median / plain_median if plain_median else 0.0
            paired = [b / a for a, b in zip(plain, tls, strict=False) if a]
            round_ratio = statistics.median(paired) if paired else 0.0
            print(
                f"{scenario.name:<18} {backend:<9} {plain_median:>9,.0f} {tls_median:>9,.0f}"
                f" {ratio:>11.3f} {round_ratio:>13.3f}"
            )
            summary.append(
                {
                    "scenario": scenario.name,
                    "backend": backend,
                    "http": plain_median,
                    "https": tls_median,
                    "ratio": ratio,
                    "median_round_ratio": round_ratio,
                }
            )
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
