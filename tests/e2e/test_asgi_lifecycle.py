"""An ASGI project's open websockets and streams across a stop and a reload (asyncio backend)."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable

import websocket

from ..conftest import ServerFactory
from .rawclient import build_request
from .test_reload import DEADLINE, Reloading, edit, start_reloading  # noqa: F401 (a fixture)
from .test_websockets import close_code, connect, finish, next_close

SHUTDOWN_TIMEOUT = 2.0


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_ctrl_c_closes_websockets_with_1001_cuts_streams_and_exits_0(start_server: ServerFactory) -> None:
    server = start_server("--backend", "asyncio", "--shutdown-timeout", str(SHUTDOWN_TIMEOUT))
    sockets = [connect(server, "/ws/echo/") for _ in range(3)]
    stream = socket.create_connection((server.host, server.port), timeout=10)
    try:
        for client in sockets:
            client.send("before")
            assert client.recv() == "before"
        stream.sendall(build_request("GET", "/events/?interval=0.1"))
        assert b"data: tick 0" in read_until(stream, b"data: tick 0")
        started = time.monotonic()
        server.signal(signal.SIGINT)
        codes = [close_code(next_close(client)) for client in sockets]
        code = server.wait()
        elapsed = time.monotonic() - started
        stream.settimeout(10)
        while stream.recv(65536):  # the endless stream was cut: EOF (or a reset) comes
            pass
    except ConnectionResetError:
        pass
    finally:
        stream.close()
        for client in sockets:
            finish(client)
    assert codes == [1001, 1001, 1001]
    assert code == 0, server.output()
    assert elapsed < SHUTDOWN_TIMEOUT + 6, f"took {elapsed:.1f}s to stop (shutdown timeout {SHUTDOWN_TIMEOUT}s)"
    assert "events view: stream ended" in server.output()  # the async generator was closed, not abandoned


def test_reload_closes_websockets_with_1012_and_the_client_reconnects_to_the_new_code(
    start_reloading: Callable[..., Reloading],  # noqa: F811 (the fixture imported above)
) -> None:
    project = start_reloading("--backend", "asyncio")
    server = project.server
    client = connect(server, "/ws/echo/")
    try:
        client.send("hello")
        assert client.recv() == "hello"
        mark = project.mark()
        edit(project.root / "shop" / "consumers.py", 'ECHO_PREFIX = ""', 'ECHO_PREFIX = "reloaded: "')
        assert close_code(next_close(client)) == 1012  # service restart: come back
    finally:
        finish(client)
    assert project.wait_for_reload(mark)["reason"] == "shop/consumers.py changed"
    deadline = time.monotonic() + DEADLINE
    while True:  # as the chat page does: reconnect until the new process answers
        try:
            client = connect(server, "/ws/echo/")
            break
        except (OSError, websocket.WebSocketException):
            assert time.monotonic() < deadline, "could not reconnect after the reload"
    try:
        client.send("hello")
        assert client.recv() == "reloaded: hello"
    finally:
        finish(client)


def test_sync_view_still_running_in_a_thread_at_the_deadline_does_not_hold_the_exit(
    start_server: ServerFactory,
) -> None:
    """Django runs a sync view in a thread under ASGI; interpreter shutdown would wait for it."""
    server = start_server("--backend", "asyncio", "--shutdown-timeout", "1")
    with socket.create_connection((server.host, server.port), timeout=40) as client:
        client.sendall(build_request("GET", "/slow/?seconds=30"))
        server.wait_for_line(lambda line: "slow view: sleeping" in line)
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        code = server.wait()
        elapsed = time.monotonic() - started
    assert code == 0, server.output()
    assert elapsed < 10, f"took {elapsed:.1f}s to stop: it waited for the 30 s view"
