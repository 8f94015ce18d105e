"""The ceiling: Django's WSGI application called in a loop, with no server and no socket.

It runs in its own process pinned to the server's core, so the figure is what a
perfect server would reach there; the report shows devrun as a share of it.
Run alone: ``python -m benchmarks.inprocess --duration 5``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from .servers import REPO, pinned, server_env

PATH: Final = "/hello/"
PROJECT: Final = REPO / "testproject"
_CHECK_EVERY: Final = 200


@dataclass(frozen=True)
class InProcessResult:
    requests_per_second: float
    microseconds_per_request: float
    requests: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def base_environ(path: str = PATH) -> dict[str, Any]:
    """The smallest environ Django serves ``path`` from (``wsgi.input`` is replaced per call)."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def served_application() -> Any:
    """The application both servers call: WSGI_APPLICATION inside staticfiles' handler (DEBUG is on)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import get_internal_wsgi_application

    return StaticFilesHandler(get_internal_wsgi_application())


def call(application: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    """One request: a fresh environ copy, the body read to the end, ``close()`` called."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses.append(status)

    request = dict(environ, **{"wsgi.input": io.BytesIO()})
    body: Iterable[bytes] = application(request, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return statuses[-1], data


def measure(duration: float) -> InProcessResult:
    """Call the application for ``duration`` seconds, after a warm-up and a correctness check."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
    django.setup()
    application = served_application()
    environ = base_environ()
    for _ in range(100):
        status, body = call(application, environ)
    if not status.startswith("200") or body != b"Hello, world!":
        raise RuntimeError(f"GET {PATH} in process gave {status!r}, {body[:80]!r}")
    requests = 0
    start = time.perf_counter()
    deadline = start + duration
    while (now := time.perf_counter()) < deadline:
        for _ in range(_CHECK_EVERY):
            call(application, environ)
        requests += _CHECK_EVERY
    seconds = now - start
    return InProcessResult(requests / seconds, seconds / requests * 1e6, requests, seconds)


def measure_pinned(duration: float, database: Path, cpu: int | None) -> InProcessResult:
    """:func:`measure` in a child process pinned to ``cpu`` (where taskset allows)."""
    argv = pinned([sys.executable, "-m", "benchmarks.inprocess", "--duration", f"{duration:g}", "--json"], cpu)
    done = subprocess.run(
        argv,
        cwd=REPO,
        env=server_env(database),
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(f"in-process run failed: {lines[-1] if lines else done.returncode}")
    return InProcessResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of calls (default: 10)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    options = parser.parse_args(argv)
    result = measure(options.duration)
    if options.json:
        print(json.dumps(result.as_json()))
    else:
        print(f"in-process {PATH}: {result.requests_per_second:,.0f} req/s, {result.microseconds_per_request:.0f} µs")


if __name__ == "__main__":
    main()
