"""The single backend: one request at a time, and no connection can stall the others."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time

from ..conftest import ServerFactory
from ..server import DevrunProcess, trickling_reader

GENEROUS = 5.0
#: Small WSGI applications for cases Django's handler does not make (here: one huge write).
WSGI_CASES = "testproject.wsgi_cases.application"


def get_hello(
    server: DevrunProcess, timeout: float = GENEROUS, path: str = "/hello/", expected: bytes = b"Hello, world!"
) -> float:
    """GET ``path`` on a new connection, expecting ``expected``; return how long it took."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request("GET", path)
        assert connection.getresponse().read() == expected
    finally:
        connection.close()
    return time.monotonic() - started


def test_idle_connections_do_not_block_other_clients(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single")
    idle = [socket.create_connection((server.host, server.port)) for _ in range(20)]
    try:
        assert get_hello(server) < GENEROUS
    finally:
        for sock in idle:
            sock.close()


def test_slowloris_half_sent_head_does_not_block_and_times_out(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single", env={"TESTPROJECT_DEVSERVER": '{"HEADER_TIMEOUT": 1}'})
    with socket.create_connection((server.host, server.port), timeout=10) as slow:
        slow.sendall(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert get_hello(server) < GENEROUS
        response = slow.recv(65536)
    assert response.startswith(b"HTTP/1.1 408 "), response


def test_half_sent_body_does_not_block_other_clients(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single")
    with socket.create_connection((server.host, server.port), timeout=10) as slow:
        slow.sendall(b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nonly part")
        assert get_hello(server) < GENEROUS
        slow.sendall(b"x" * (1000 - len(b"only part")))
        assert slow.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_slow_reader_holds_the_loop_no_longer_than_the_send_timeout(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single", env={"TESTPROJECT_DEVSERVER": '{"SEND_TIMEOUT": 1}'})
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with reader:
        reader.connect((server.host, server.port))
        # 2 MB of chunks that this client never reads: the server's writes block.
        reader.sendall(b"GET /stream/?chunks=250000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        elapsed = get_hello(server, timeout=30)
    assert elapsed < 1 + GENEROUS


def test_a_trickling_reader_holds_the_loop_no_longer_than_the_send_timeout(start_server: ServerFactory) -> None:
    env = {"TESTPROJECT_DEVSERVER": '{"SEND_TIMEOUT": 1}', "TESTPROJECT_WSGI_APPLICATION": WSGI_CASES}
    server = start_server("--backend", "single", env=env)
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with reader:
        reader.connect((server.host, server.port))
        reader.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        # ~10 KB/s: the 8 MiB response (one write) would take minutes, every call progressing
        with trickling_reader(reader, piece=1024, every=0.1):
            elapsed = get_hello(server, timeout=30, path="/big?bytes=13", expected=b"x" * 13)
    assert elapsed < 1 + GENEROUS


def test_large_body_is_spooled_and_reaches_the_view(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single")
    body = bytes(range(256)) * 8192  # 2 MiB: past the in-memory spool limit
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("PUT", "/echo/", body=body, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    assert response.status in (200, 400), payload[:200]
    if response.status == 400:  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) did not apply here
        raise AssertionError(payload[:300])
    assert b'"body_length": 2097152' in payload


def test_breakpoint_in_a_view_works_in_the_terminal(project_env: dict[str, str]) -> None:
    env = {**project_env, "TESTPROJECT_BREAKPOINT": "1", "PYTHONBREAKPOINT": "pdb.set_trace"}
    server = DevrunProcess(["127.0.0.1:0", "--noreload", "--nothreading"], env, stdin=subprocess.PIPE)
    process = server.process
    try:
        server.wait_ready()
        connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
        try:
            connection.request("GET", "/debugger/")
            server.wait_for_line(lambda line: "debugger()" in line)
            assert process.stdin is not None
            process.stdin.write("answer = 'changed in pdb'\n")
            process.stdin.write("c\n")
            process.stdin.flush()
            response = connection.getresponse()
            assert response.read() == b"after breakpoint: changed in pdb"
        finally:
            connection.close()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        server.stop()
