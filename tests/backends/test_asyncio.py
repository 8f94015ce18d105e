"""The asyncio backend in-process: a stop from another thread, and connections handed from one
backend to another (what a reload's hand-over of idle keep-alive connections needs)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devserver.backends.adoption import HandedConnection
from devserver.backends.asyncio import AsyncioBackend
from devserver.conf import ServerConfig
from devserver.listener import bind_listener

from ..e2e.rawclient import RawClient, build_request


def answering(name: str) -> Any:
    """An ASGI application that answers every request with ``name`` (and has no lifespan)."""

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("no lifespan here")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": name.encode()})

    return application


@contextmanager
def serving(name: str, cert_file: Path | None = None) -> Iterator[tuple[AsyncioBackend, int]]:
    listener = bind_listener("127.0.0.1", 0, ipv6=False)
    port = int(listener.getsockname()[1])
    config = ServerConfig(shutdown_timeout=1, cert_file=None if cert_file is None else str(cert_file))
    backend = AsyncioBackend(listener, answering(name), config)
    backend.start()  # on this thread: the loop is created here, then runs on the serving thread
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    try:
        yield backend, port
    finally:
        backend.shutdown()
        thread.join(10)
        assert not thread.is_alive(), "the backend did not stop"


def test_shutdown_from_another_thread_stops_the_loop() -> None:
    with serving("one") as (_, port), RawClient(port) as client:
        client.request("GET", "/")
        assert client.read_response().body == b"one"
    # serving() asserted that serve_forever returned after shutdown() from this thread


def test_idle_connection_moves_to_another_backend_and_keeps_serving_its_client() -> None:
    with serving("old") as (old, port), serving("new") as (new, _), RawClient(port) as client:
        client.request("GET", "/")
        assert client.read_response().body == b"old"
        detached = old.detach_idle()
        assert len(detached) == 1
        sock, received = detached[0]
        assert new.adopt(HandedConnection(sock, ("127.0.0.1", 1), received))
        client.request("GET", "/")  # the same TCP connection, now served by the other backend
        assert client.read_response().body == b"new"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)  # polling the loop's state from another thread


def test_half_a_head_moves_with_the_bytes_received_and_is_answered_by_the_other_backend() -> None:
    with serving("old") as (old, port), serving("new") as (new, _), RawClient(port) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        wait_until(lambda: any(not c.http.idle for c in list(old.connections)))
        [(sock, received)] = old.detach_idle()
        assert received == b"GET / HTTP/1.1\r\nHost: x\r\n"
        assert new.adopt(HandedConnection(sock, ("127.0.0.1", 1), received))
        client.send(b"\r\n")
        assert client.read_response().body == b"new"


def test_a_request_under_way_is_not_detached() -> None:
    with serving("old") as (old, port), RawClient(port) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")  # a body under way
        wait_until(lambda: any(c.cycle is not None for c in list(old.connections)))
        assert old.detach_idle() == []


def test_adopted_socket_is_served_with_the_bytes_read_before() -> None:
    with serving("new") as (new, _):
        server_side, client_side = socket.socketpair()
        with client_side:
            request = build_request("GET", "/", [("Connection", "close")])
            assert new.adopt(HandedConnection(server_side, ("127.0.0.1", 1), request[:10]))  # read by another process
            client_side.sendall(request[10:])
            reply = b""
            client_side.settimeout(10)
            while chunk := client_side.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\nnew")


def test_a_tls_handshake_under_way_when_the_stop_begins_is_finished_and_its_request_served(combined: Path) -> None:
    """The connection was accepted before the stop: the client is owed an answer, as on a plain port."""
    with serving("secure", cert_file=combined) as (backend, port):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ssl.create_default_context(cafile=str(combined)).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:

            def step_handshake() -> bool:
                try:
                    tls.do_handshake()
                    return True
                except ssl.SSLWantReadError:
                    return False
                finally:
                    if pending := outgoing.read():
                        sock.sendall(pending)

            assert not step_handshake()  # the ClientHello is sent
            incoming.write(sock.recv(65536))  # the server's answer: its handshake is under way
            backend.shutdown()
            wait_until(lambda: backend.draining)
            while not step_handshake():
                incoming.write(sock.recv(65536))
            tls.write(build_request("GET", "/"))
            sock.sendall(outgoing.read())
            received = b""
            while True:
                try:
                    if not (data := tls.read(65536)):
                        break  # close_notify
                    received += data
                except ssl.SSLWantReadError:
                    data = sock.recv(65536)
                    if not data:
                        break
                    incoming.write(data)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" in head.lower()  # served during the stop, then closed
        assert body == b"secure"
