"""Load that a browser-heavy page or a test suite puts on a dev server."""

from __future__ import annotations

import http.client
import socket
import threading
import time

from ..conftest import ServerFactory

CLIENTS = 200
REQUESTS_PER_CLIENT = 5


def test_threaded_serves_200_concurrent_keep_alive_clients(start_server: ServerFactory) -> None:
    server = start_server("--backend", "threaded")
    barrier = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []
    served: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        try:
            connection.connect()
            barrier.wait(timeout=60)
            for _ in range(REQUESTS_PER_CLIENT):
                connection.request("GET", "/hello/")
                response = connection.getresponse()
                body = response.read()
                if response.status != 200 or body != b"Hello, world!":
                    raise AssertionError((response.status, body))
                with lock:
                    served.append(1)
        except BaseException as error:  # collected and asserted below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    assert len(served) == CLIENTS * REQUESTS_PER_CLIENT


def test_single_serves_one_active_client_beside_200_idle_connections(start_server: ServerFactory) -> None:
    server = start_server("--backend", "single")
    idle = [socket.create_connection((server.host, server.port)) for _ in range(CLIENTS)]
    try:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        started = time.monotonic()
        try:
            for _ in range(500):
                connection.request("GET", "/hello/")
                assert connection.getresponse().read() == b"Hello, world!"
        finally:
            connection.close()
        elapsed = time.monotonic() - started
    finally:
        for sock in idle:
            sock.close()
    # 500 requests take well under a second on one core; idle sockets must not add seconds.
    assert elapsed < 10, f"500 requests took {elapsed:.1f}s beside {CLIENTS} idle connections"


def test_connections_past_the_limit_get_503_and_the_server_goes_on(
    start_server: ServerFactory, backend_name: str
) -> None:
    server = start_server("--backend", backend_name, env={"TESTPROJECT_DEVSERVER": '{"MAX_CONNECTIONS": 2}'})
    held = [http.client.HTTPConnection(server.host, server.port, timeout=10) for _ in range(2)]
    try:
        for connection in held:
            connection.request("GET", "/hello/")
            assert connection.getresponse().read() == b"Hello, world!"
        with socket.create_connection((server.host, server.port), timeout=10) as extra:
            extra.sendall(b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reply = b""
            while chunk := extra.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 503 "), reply
        assert b"Connection: close" in reply
    finally:
        for connection in held:
            connection.close()
    # With the held connections gone, the server takes new ones again.
    deadline = time.monotonic() + 10
    while True:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        try:
            connection.request("GET", "/hello/")
            response = connection.getresponse()
            if response.read() == b"Hello, world!":
                break
        finally:
            connection.close()
        assert time.monotonic() < deadline, "server kept refusing after connections were released"
