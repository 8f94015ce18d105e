"""The readiness contract, on the real command: the ready line and the ready file."""

from __future__ import annotations

import http.client
import json
import signal
import socket
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX, parse_ready_line

from ..conftest import ServerFactory
from ..server import DevrunProcess, run_devrun


def ready_line(server: DevrunProcess) -> str:
    return server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX))


def status_of(url_host: str, port: int, path: str) -> int:
    connection = http.client.HTTPConnection(url_host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_ready_line_and_ready_file_describe_the_bound_server(start_server: ServerFactory, tmp_path: Path) -> None:
    path = tmp_path / "ready.json"
    server = start_server("--ready-file", str(path))
    announced = parse_ready_line(ready_line(server))
    assert announced is not None
    assert (announced.url, announced.host, announced.port) == (server.url, "127.0.0.1", server.port)
    assert (announced.pid, announced.backend) == (server.pid, "threaded")
    document = json.loads(path.read_text())  # written before the line is printed
    assert document == {
        "url": server.url,
        "host": "127.0.0.1",
        "port": server.port,
        "pid": server.pid,
        "backend": "threaded",
    }
    assert status_of(document["host"], document["port"], "/hello/") == 200


def test_ready_line_comes_after_the_banner(start_server: ServerFactory) -> None:
    server = start_server()
    line = ready_line(server)
    lines = server.output().splitlines()
    assert lines.index(line) > next(i for i, text in enumerate(lines) if text.startswith("Quit the server with"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ready_file_is_removed_at_exit(start_server: ServerFactory, tmp_path: Path, signum: signal.Signals) -> None:
    path = tmp_path / "ready.json"
    server = start_server("--ready-file", str(path))
    ready_line(server)
    assert path.exists()
    server.signal(signum)
    assert server.wait() == 0, server.output()
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_stale_ready_file_never_survives_a_failed_start(project_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "ready.json"
    path.write_text('{"url": "http://127.0.0.1:1/", "host": "127.0.0.1", "port": 1, "pid": 1, "backend": "x"}')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_devrun([f"127.0.0.1:{port}", "--noreload", "--ready-file", str(path)], project_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert not path.exists()


def test_ready_file_in_a_missing_directory_is_a_usage_error(project_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "missing" / "ready.json"
    result = run_devrun(["127.0.0.1:0", "--noreload", "--ready-file", str(path)], project_env)
    assert result.returncode == 2
    assert "--ready-file" in result.stderr
    assert "does not exist" in result.stderr
