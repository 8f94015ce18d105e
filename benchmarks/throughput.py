"""Requests per second of each server in each scenario, measured by wrk on its own core.

Each (scenario, server) cell gets a fresh server, so a crash or a stall in one cell
cannot leak into the next; scenarios are the outer loop so that the servers
compared in one scenario are measured close together in time.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from .servers import HOST, OutputMode, ServerProcess, ServerSpec, ServerStartError, pinned, running

SERVER_CPU: Final = 0
CLIENT_CPU: Final = 1
#: wrk counts a response slower than this as a timeout error.
WRK_TIMEOUT: Final = "2s"
_MARKER: Final = "WRK_JSON "

#: wrk's ``done`` hook, printing the summary as one JSON line (latencies in microseconds).
WRK_SCRIPT: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  local p50, p99, max = 0, 0, 0
  if summary.requests > 0 then
    p50, p99, max = latency:percentile(50), latency:percentile(99), latency.max
  end
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    "WRK_JSON ", summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, p50, p99, max))
end
"""


@dataclass(frozen=True)
class Scenario:
    """One wrk load: a path, a number of connections, keep-alive or ``Connection: close``."""

    name: str
    path: str
    connections: int
    close: bool = False
    quick: bool = False
    description: str = ""


SCENARIOS: Final = (
    Scenario("hello-keepalive-c1", "/hello/", 1, quick=True, description="/hello/, keep-alive, 1 connection"),
    Scenario("hello-keepalive-c10", "/hello/", 10, description="/hello/, keep-alive, 10 connections"),
    Scenario("hello-close-c1", "/hello/", 1, close=True, description="/hello/, Connection: close, 1 connection"),
    Scenario(
        "hello-close-c10", "/hello/", 10, close=True, quick=True, description="/hello/, Connection: close, 10 conns"
    ),
    Scenario(
        "static-keepalive-c1",
        "/static/shop/site.css",
        1,
        quick=True,
        description="100 KB static file, keep-alive, 1 connection",
    ),
)

#: What a correct answer looks like for each path, checked before every measurement.
EXPECTED: Final[dict[str, Callable[[bytes], bool]]] = {
    "/hello/": lambda body: body == b"Hello, world!",
    "/hello-async/": lambda body: body == b"Hello, world!",
    "/raw/": lambda body: body == b"Hello, world!",
    "/static/shop/site.css": lambda body: len(body) > 50_000,
}


@dataclass
class Measurement:
    """One cell of the table. ``note`` explains a missing or suspect figure."""

    scenario: str
    server: str
    requests_per_second: float | None = None
    requests: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    #: Bytes read per response, head included: shows that whole bodies arrived.
    bytes_per_response: float | None = None
    errors: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_command(url: str, scenario: Scenario, duration: float, script: Path) -> list[str]:
    argv = ["wrk", "-t1", f"-c{scenario.connections}", f"-d{duration:g}s", f"--timeout={WRK_TIMEOUT}"]
    if scenario.close:
        argv += ["-H", "Connection: close"]
    return pinned([*argv, "-s", str(script), url], CLIENT_CPU)


def parse_wrk(output: str) -> dict[str, int] | None:
    """The summary our ``done`` hook printed, or None when wrk gave up before it."""
    for line in output.splitlines():
        if line.startswith(_MARKER):
            summary: dict[str, int] = json.loads(line[len(_MARKER) :])
            return summary
    return None


def measurement_from(scenario: str, server: str, summary: dict[str, int]) -> Measurement:
    seconds = summary["duration_us"] / 1e6
    errors = {kind: summary[kind] for kind in ("connect", "read", "write", "timeout", "status") if summary[kind]}
    answered = summary["requests"] > 0
    return Measurement(
        scenario=scenario,
        server=server,
        requests_per_second=summary["requests"] / seconds if seconds else 0.0,
        requests=summary["requests"],
        p50_ms=summary["p50_us"] / 1000 if answered else None,
        p99_ms=summary["p99_us"] / 1000 if answered else None,
        max_ms=summary["max_us"] / 1000 if answered else None,
        bytes_per_response=summary["bytes"] / summary["requests"] if answered else None,
        errors=errors,
        note="" if answered else "no responses",
    )


def run_wrk(server: ServerProcess, scenario: Scenario, duration: float, script: Path) -> Measurement:
    argv = wrk_command(server.url + scenario.path, scenario, duration, script)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False)
    except subprocess.TimeoutExpired:
        return Measurement(scenario.name, server.spec.name, note="wrk did not finish")
    summary = parse_wrk(done.stdout)
    if summary is None:
        reason = (done.stderr or done.stdout).strip().splitlines()
        return Measurement(scenario.name, server.spec.name, note=f"wrk failed: {reason[-1] if reason else done}")
    return measurement_from(scenario.name, server.spec.name, summary)


def check_response(port: int, path: str, timeout: float = 10.0) -> str:
    """Empty when ``path`` answers 200 with the expected body (also warms the server up); else why not."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"GET {path}: {type(error).__name__}: {error}"
    finally:
        connection.close()
    if response.status != 200:
        return f"GET {path}: status {response.status}"
    if not EXPECTED.get(path, bool)(body):
        return f"GET {path}: unexpected body ({len(body)} bytes)"
    return ""


def measure_cell(
    spec: ServerSpec,
    scenario: Scenario,
    duration: float,
    *,
    database: Path,
    logs: Path,
    script: Path,
    output: OutputMode,
) -> Measurement:
    """Start ``spec``, check and warm ``scenario.path``, run wrk, and note if the server died meanwhile.

    The server's log is kept (and named in the note) only when something went wrong.
    """
    try:
        with running(spec, database, logs, cpu=SERVER_CPU, output=output) as server:
            result = _measure_running(server, scenario, duration, script)
    except ServerStartError as error:
        return Measurement(scenario.name, spec.name, note=f"did not start: {error}")
    if result.note:
        result.note += f" (server log: {server.log})"
    else:
        server.log.unlink(missing_ok=True)
    return result


def _measure_running(server: ServerProcess, scenario: Scenario, duration: float, script: Path) -> Measurement:
    for _ in range(3):
        problem = check_response(server.port, scenario.path)
        if problem:
            return Measurement(scenario.name, server.spec.name, note=problem)
    result = run_wrk(server, scenario, duration, script)
    code = server.process.poll()
    if code is not None:
        result.note = f"server exited with status {code} during the run"
    elif problem := check_response(server.port, scenario.path):
        result.note = f"after the run, {problem}"
    return result


def run_matrix(
    scenarios: Sequence[Scenario],
    specs: Sequence[ServerSpec],
    duration: float,
    *,
    database: Path,
    output: OutputMode,
    log_dir: Path | None = None,
    rounds: int = 1,
    progress: Callable[[Measurement], None] = lambda _: None,
) -> Iterable[Measurement]:
    """Every scenario x server, ``rounds`` times, one fresh server per cell; yields each result as
    it lands. Rounds go round the servers in turn, so a noisy minute touches every server alike.

    Server logs go to ``log_dir`` (a temporary directory if None); only those of failed cells remain.
    """
    with tempfile.TemporaryDirectory(prefix="devserver-wrk-") as scratch:
        logs = log_dir or Path(scratch)
        script = Path(scratch) / "report.lua"
        script.write_text(WRK_SCRIPT)
        for scenario in scenarios:
            for _ in range(rounds):
                for spec in specs:
                    result = measure_cell(
                        spec, scenario, duration, database=database, logs=logs, script=script, output=output
                    )
                    progress(result)
                    yield result


def medians(results: Sequence[Measurement]) -> list[Measurement]:
    """One measurement per (scenario, server): the round with the median rate, its note naming
    the spread when there were several rounds. Order of first appearance is kept.
    """
    cells: dict[tuple[str, str], list[Measurement]] = {}
    for result in results:
        cells.setdefault((result.scenario, result.server), []).append(result)
    chosen = []
    for runs in cells.values():
        rated = sorted((r for r in runs if r.requests_per_second is not None), key=lambda r: r.requests_per_second or 0)
        if not rated:
            chosen.append(runs[0])
            continue
        middle = replace(rated[(len(rated) - 1) // 2])
        if len(runs) > 1:
            low, high = rated[0].requests_per_second or 0, rated[-1].requests_per_second or 0
            spread = f"median of {len(runs)}: {low:,.0f} to {high:,.0f}"
            middle.note = f"{spread}; {middle.note}" if middle.note else spread
        chosen.append(middle)
    return chosen
