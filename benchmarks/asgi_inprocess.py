"""``python -m benchmarks.asgi_inprocess PATH``: the ceiling no ASGI server can pass on a Django
view: the project's ASGI application called in-process, on one event loop (uvloop's when
installed, as the servers run), with no socket at all. Prints one JSON line.

Django's ASGI handler runs sync middleware and sync views through ``sync_to_async`` (a thread
hop each), so this ceiling is far below the WSGI one; the ASGI benchmark shows each server's
rate as a share of it.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


async def measure(application: Any, path: str, duration: float) -> dict[str, float]:
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    loop = asyncio.get_running_loop()

    async def one() -> None:
        delivered = False
        finished = loop.create_future()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished  # the response is over: then, and only then, the client "leaves"
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body") and not finished.done():
                finished.set_result(None)

        await application(dict(scope_base), receive, send)

    for _ in range(100):  # warm-up
        await one()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration:
        await one()
        count += 1
    return {"requests": count, "seconds": elapsed, "requests_per_second": count / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    path, duration = arguments[0], float(arguments[1]) if len(arguments) > 1 else 5.0
    sys.path[:0] = [str(REPO), str(REPO / "testproject")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
    os.environ.setdefault("TESTPROJECT_ASGI", "1")
    from benchmarks.asgi_app import application

    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = asyncio.new_event_loop
    # A context of its own, as the servers give their applications (Django's start-up filled this one).
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(measure(application, path, duration), context=contextvars.Context())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
