"""The asyncio backend on both event loops it can run (``EVENT_LOOP``): the HTTP layer, a websocket,
and a stop with one open. The rest of the suite runs on the default ("auto": uvloop when installed)."""

from __future__ import annotations

import importlib.util
import json
import signal

import pytest

from ..conftest import ServerFactory
from .rawclient import RawClient, build_request
from .test_websockets import close_code, connect, finish, next_close

LOOPS = [
    "asyncio",
    pytest.param(
        "uvloop",
        marks=pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop is not installed"),
    ),
]


@pytest.mark.parametrize("loop", LOOPS)
def test_serves_http_and_websockets_and_stops_cleanly_on(start_server: ServerFactory, loop: str) -> None:
    server = start_server("--backend", "asyncio", env={"TESTPROJECT_DEVSERVER": json.dumps({"EVENT_LOOP": loop})})
    assert f"asyncio backend on {loop}" in server.output()
    with RawClient.to(server) as client:
        client.send(build_request("GET", "/hello/") + build_request("GET", "/hello-async/"))
        assert [client.read_response().body for _ in range(2)] == [b"Hello, world!"] * 2
    websocket = connect(server, "/ws/echo/")
    try:
        websocket.send("on " + loop)
        assert websocket.recv() == "on " + loop
        server.signal(signal.SIGINT)
        assert close_code(next_close(websocket)) == 1001
    finally:
        finish(websocket)
    assert server.wait() == 0
