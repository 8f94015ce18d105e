"""The seam between backends and the reloader: who takes part, and the inbox a loop reads."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from devserver.backends.adoption import AdoptionInbox, HandedConnection, takes_part_in_handovers
from devserver.backends.single import SingleBackend
from devserver.backends.threaded import ThreadedBackend
from devserver.conf import ServerConfig
from devserver.wsgi.environ import Environ
from devserver.wsgi.gateway import StartResponse


@pytest.fixture
def connection() -> Iterator[HandedConnection]:
    left, right = socket.socketpair()
    with right:
        yield HandedConnection(left, ("127.0.0.1", 5000), b"GET / HTTP/1.1\r\n")
    left.close()


def test_the_built_in_backends_take_part_and_others_do_not() -> None:
    class OnlyTheProtocol:
        def serve_forever(self) -> None: ...

        def shutdown(self, *, restart: bool = False) -> None: ...

    class Tls(ThreadedBackend):
        hands_over_connections = False

    with socket.create_server(("127.0.0.1", 0)) as listener:
        threaded, tls = (
            ThreadedBackend(listener, application, ServerConfig()),
            Tls(listener, application, ServerConfig()),
        )
        single = SingleBackend(listener.dup(), application, ServerConfig())
        try:
            assert takes_part_in_handovers(threaded)
            assert takes_part_in_handovers(single)
            assert not takes_part_in_handovers(tls)
            assert not takes_part_in_handovers(OnlyTheProtocol())
        finally:
            threaded.close_stop_signal()
            tls.close_stop_signal()
            single._close_all()  # what serving would have done


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b""]


def test_the_inbox_wakes_its_loop_and_hands_out_each_connection_once(connection: HandedConnection) -> None:
    inbox = AdoptionInbox()
    try:
        assert inbox.put(connection)
        assert inbox.reader.recv(1) == b"\0"  # readable: a selector wakes
        assert inbox.take() == [connection]
        assert inbox.take() == []
    finally:
        assert inbox.close() == []


def test_a_closed_inbox_returns_what_it_held_and_refuses_more(connection: HandedConnection) -> None:
    inbox = AdoptionInbox()
    assert inbox.put(connection)
    assert inbox.close() == [connection]
    assert not inbox.put(connection)  # the caller keeps (and closes) it


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
    return [b"adopted"]


def tcp_pair(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """(the server's side, the client's side) of a fresh connection to ``listener``."""
    client = socket.create_connection(listener.getsockname()[:2], timeout=10)
    server_side, _ = listener.accept()
    return server_side, client


@pytest.mark.parametrize("backend_class", [ThreadedBackend, SingleBackend])
def test_adopted_connections_are_served_and_past_the_bound_treated_as_new_ones(
    backend_class: type[ThreadedBackend | SingleBackend],
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as elsewhere, socket.create_server(("127.0.0.1", 0)) as listener:
        backend = backend_class(listener.dup(), hello, ServerConfig(max_connections=1))
        serving = threading.Thread(target=backend.serve_forever)
        serving.start()
        pairs = [tcp_pair(elsewhere) for _ in range(3)]
        try:
            (first, first_client), (idle, idle_client), (begun, begun_client) = pairs
            assert backend.adopt(HandedConnection(first, ("127.0.0.1", 1), b"GET / HTTP/1.1\r\n"))
            first_client.sendall(b"Host: x\r\n\r\n")
            assert first_client.recv(4096).endswith(b"\r\n\r\nadopted")  # the head read elsewhere counted
            assert backend.adopt(HandedConnection(idle, ("127.0.0.1", 2)))  # past MAX_CONNECTIONS, idle
            assert idle_client.recv(10) == b""  # closed: it has no request to answer 503 to
            assert backend.adopt(HandedConnection(begun, ("127.0.0.1", 3), b"GET / HTTP/1.1\r\n"))
            begun_client.sendall(b"Host: x\r\n\r\n")
            assert begun_client.recv(4096).startswith(b"HTTP/1.1 503 ")  # as a new connection past it
        finally:
            backend.shutdown()
            serving.join(10)
            for server_side, client in pairs:
                server_side.close()
                client.close()
        with socket.socket() as late:
            assert not backend.adopt(HandedConnection(late, ("127.0.0.1", 4)))  # no longer serving: still ours


@pytest.mark.parametrize("backend_class", [ThreadedBackend, SingleBackend])
def test_with_a_certificate_a_backend_serves_tls_and_keeps_its_connections(
    backend_class: type[ThreadedBackend] | type[SingleBackend], combined: Path
) -> None:
    """TLS sessions cannot move to another process: such a backend opts out of hand-overs."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        backend = backend_class(listener.dup(), application, ServerConfig(cert_file=str(combined)))
        try:
            assert backend.tls is not None
            assert backend.gateway.base_environ["wsgi.url_scheme"] == "https"
            assert not takes_part_in_handovers(backend)
        finally:
            if isinstance(backend, SingleBackend):
                backend._close_all()
            else:
                backend.close_stop_signal()
                backend.listener.close()
