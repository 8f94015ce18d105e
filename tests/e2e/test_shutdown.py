"""Graceful shutdown on SIGINT and SIGTERM, for every backend."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from ..conftest import ServerFactory
from ..server import DevrunProcess


def start_request(server: DevrunProcess, path: str) -> tuple[threading.Thread, dict[str, object]]:
    """Issue a GET on a thread; the result dict gets status and body, or the error."""
    result: dict[str, object] = {}

    def run() -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            result["status"] = response.status
            result["body"] = response.read()
        except (OSError, http.client.HTTPException) as error:
            result["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def wait_for_log(server: DevrunProcess, text: str, timeout: float = 10.0) -> None:
    server.wait_for_line(lambda line: text in line, timeout)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_in_flight_request_finish_then_exits_zero(
    start_server: ServerFactory, backend_name: str, signum: signal.Signals
) -> None:
    server = start_server("--backend", backend_name)
    thread, result = start_request(server, "/slow/?seconds=1.5")
    wait_for_log(server, "slow view: sleeping")
    server.signal(signum)
    code = server.wait()
    thread.join(10)
    assert code == 0, server.output()
    assert result.get("status") == 200, (result, server.output())
    assert result.get("body") == b"slept 1.5"
    assert "Shutting down" in server.output()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_open_ended_stream_is_cut_at_once_and_logged_as_cut(
    start_server: ServerFactory, backend_name: str, signum: signal.Signals
) -> None:
    server = start_server("--backend", backend_name, "--shutdown-timeout", "30")
    with socket.create_connection((server.host, server.port), timeout=10) as client:
        client.sendall(b"GET /events/?interval=0.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"data: tick 1" in _read_until(client, b"data: tick 1")  # tick 0 is counted by now
        started = time.monotonic()
        server.signal(signum)
        _read_until(client, b"never sent")  # to the end: the server cut the stream
        code = server.wait()
        elapsed = time.monotonic() - started
    assert code == 0, server.output()
    assert elapsed < 5, f"took {elapsed:.1f}s to stop with an endless stream open (the deadline was 30 s)"
    assert re.search(r'"GET /events/\?interval=0.1 HTTP/1.1" 200 \(cut\) [1-9]\d* \d+\.\dms', server.output())


def test_a_view_still_running_at_the_deadline_is_logged_as_cut_before_the_exit(
    start_server: ServerFactory, backend_name: str
) -> None:
    server = start_server("--backend", backend_name, "--shutdown-timeout", "1")
    thread, result = start_request(server, "/slow/?seconds=4")
    wait_for_log(server, "slow view: sleeping")
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    thread.join(10)
    output = server.output()
    assert "error" in result, result  # the client got nothing: the view had not returned
    assert '"GET /slow/?seconds=4 HTTP/1.1" - (cut) 0 ' in output
    assert '"GET /slow/?seconds=4 HTTP/1.1" 200' not in output


def test_idle_keep_alive_connections_do_not_delay_shutdown(start_server: ServerFactory, backend_name: str) -> None:
    server = start_server("--backend", backend_name, "--shutdown-timeout", "30")
    idle = []
    try:
        for _ in range(5):
            connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
            connection.request("GET", "/hello/")
            assert connection.getresponse().read() == b"Hello, world!"
            idle.append(connection)
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        code = server.wait()
        elapsed = time.monotonic() - started
    finally:
        for connection in idle:
            connection.close()
    assert code == 0
    assert elapsed < 10, f"idle keep-alive connections held shutdown for {elapsed:.1f}s (deadline was 30s)"


def test_second_interrupt_exits_at_once(start_server: ServerFactory, backend_name: str, tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    server = start_server("--backend", backend_name, "--shutdown-timeout", "60", "--ready-file", str(ready_file))
    wait_for_log(server, "devserver: ready")  # printed once the file is written
    assert ready_file.exists()
    thread, _ = start_request(server, "/slow/?seconds=30")
    wait_for_log(server, "slow view: sleeping")
    server.signal(signal.SIGINT)
    wait_for_log(server, "Shutting down")
    started = time.monotonic()
    server.signal(signal.SIGINT)
    code = server.wait()
    assert time.monotonic() - started < 5
    assert code != 0
    assert "Forced exit" in server.output()
    assert '"GET /slow/?seconds=30 HTTP/1.1" - (cut) 0 ' in server.output()  # logged before the exit
    assert not ready_file.exists(), "a forced exit left the ready file behind"
    thread.join(40)


def test_stop_leaves_no_resource_warnings(start_server: ServerFactory, backend_name: str) -> None:
    server = start_server("--backend", backend_name, env={"PYTHONWARNINGS": "always::ResourceWarning"})
    for path in ("/hello/", "/download/", "/static/shop/site.css", "/stream/"):
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        connection.request("GET", path)
        connection.getresponse().read()
        connection.close()
    assert server.stop() == 0
    assert "ResourceWarning" not in server.output()


def _read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
