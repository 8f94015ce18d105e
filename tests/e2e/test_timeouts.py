"""Deadlines that keep a slow or silent client from holding a connection (every backend)."""

from __future__ import annotations

import socket
import time

from ..conftest import ServerFactory

HEADER_TIMEOUT = '{"HEADER_TIMEOUT": 1}'


def test_a_head_trickling_in_a_byte_at_a_time_gets_408(start_server: ServerFactory, backend_name: str) -> None:
    server = start_server("--backend", backend_name, env={"TESTPROJECT_DEVSERVER": HEADER_TIMEOUT})
    head = b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200
    with socket.create_connection((server.host, server.port), timeout=10) as client:
        started = time.monotonic()
        answer = b""
        for byte in head:  # paced, not synchronising: a byte every 0.1 s is what the attack looks like
            try:
                client.sendall(bytes([byte]))
            except OSError:
                break
            client.settimeout(0.1)
            try:
                answer = client.recv(65536)
            except TimeoutError:
                continue
            break
        client.settimeout(10)
        if not answer:
            answer = client.recv(65536)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert elapsed < 6, f"the trickling head held the connection for {elapsed:.1f}s (HEADER_TIMEOUT is 1s)"
