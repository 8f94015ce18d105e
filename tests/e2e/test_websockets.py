"""WebSockets end to end: the async test project (Channels) and ``asgi_cases`` on the asyncio
backend, driven by a real websocket client (``websocket-client``, another implementation than
the server's)."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from websocket import ABNF

from ..conftest import ServerFactory
from ..server import DevrunProcess
from .test_asgi_gateway import CASES, logged

SETTINGS = {"WEBSOCKET_MAX_MESSAGE_SIZE": 65536}


@pytest.fixture(scope="module")
def project(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    """The test project as ASGI (Channels consumers at /ws/...)."""
    server = start_server("--backend", "asyncio", env={"TESTPROJECT_DEVSERVER": json.dumps(SETTINGS)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cases(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    server = start_server("--backend", "asyncio", "--nostatic", env=CASES)
    yield server
    server.stop()


def connect(server: DevrunProcess, path: str, timeout: float = 10, **options: Any) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://{server.host}:{server.port}{path}", timeout=timeout, **options)


def finish(client: websocket.WebSocket) -> None:
    """Close (with the closing handshake if still open) and release the socket: after a close
    frame from the server, websocket-client's ``close()`` alone leaves its socket open."""
    client.close()
    client.shutdown()  # type: ignore[no-untyped-call]


def close_code(frame: ABNF) -> int:
    data = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
    code: int = struct.unpack("!H", data[:2])[0]
    return code


def next_close(client: websocket.WebSocket) -> ABNF:
    """Read until the close frame (answering pings on the way), and return it."""
    while True:
        opcode, frame = client.recv_data_frame(True)
        if opcode == ABNF.OPCODE_CLOSE:
            assert isinstance(frame, ABNF)
            return frame


# -- messages --------------------------------------------------------------------------------


def test_text_and_binary_messages_are_echoed(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.send("héllo")
        assert client.recv() == "héllo"
        client.send_binary(bytes(range(256)))
        assert client.recv() == bytes(range(256))
    finally:
        finish(client)


def test_fragmented_message_arrives_whole(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.send_frame(ABNF.create_frame("frag", ABNF.OPCODE_TEXT, fin=0))
        client.send_frame(ABNF.create_frame("men", ABNF.OPCODE_CONT, fin=0))
        client.send_frame(ABNF.create_frame("ted", ABNF.OPCODE_CONT, fin=1))
        assert client.recv() == "fragmented"
    finally:
        finish(client)


def test_ping_is_answered_with_pong(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.ping(b"are you there")
        opcode, frame = client.recv_data_frame(True)
        assert (opcode, frame.data) == (ABNF.OPCODE_PONG, b"are you there")
    finally:
        finish(client)


def test_broadcast_reaches_every_client(project: DevrunProcess) -> None:
    first, second = connect(project, "/ws/broadcast/"), connect(project, "/ws/broadcast/")
    try:
        first.send(json.dumps({"text": "to everyone"}))
        assert json.loads(first.recv()) == {"text": "to everyone"}
        assert json.loads(second.recv()) == {"text": "to everyone"}
    finally:
        finish(first)
        finish(second)


# -- handshake -------------------------------------------------------------------------------


def test_offered_subprotocol_is_accepted(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/", subprotocols=["chat", "echo.v1"])
    try:
        assert client.getsubprotocol() == "echo.v1"
        assert client.getstatus() == 101
    finally:
        finish(client)


def test_no_subprotocol_unless_offered(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        assert client.getsubprotocol() is None
    finally:
        finish(client)


def test_refusal_before_accept_gets_403(project: DevrunProcess) -> None:
    first_line = len(project.lines)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(project, "/ws/reject/")
    assert refused.value.status_code == 403
    logged(project, '"GET /ws/reject/ HTTP/1.1" 403', first_line)


def test_foreign_origin_is_refused_by_channels_origin_validator(project: DevrunProcess) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(project, "/ws/echo/", origin="http://evil.example")
    assert refused.value.status_code == 403


def test_invalid_handshake_is_answered_without_the_application(project: DevrunProcess) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(project, "/ws/echo/", header=["Sec-WebSocket-Version: 8"])
    assert refused.value.status_code == 400


# -- closing ---------------------------------------------------------------------------------


def test_application_close_code_reaches_the_client(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.send("close 4001")
        assert close_code(next_close(client)) == 4001
    finally:
        finish(client)


def test_client_close_code_reaches_the_application(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    client = connect(cases, "/ws/until-disconnect")
    client.send("ping")
    assert client.recv() == "ping"
    client.close(status=4002)
    logged(cases, "asgi_cases: ws disconnect: code 4002", first_line)


def test_oversized_message_closes_with_1009(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.send("x" * (SETTINGS["WEBSOCKET_MAX_MESSAGE_SIZE"] + 1))
        assert close_code(next_close(client)) == 1009
    finally:
        finish(client)
    client = connect(project, "/ws/echo/")  # the server goes on
    try:
        client.send("x" * SETTINGS["WEBSOCKET_MAX_MESSAGE_SIZE"])
        assert len(client.recv()) == SETTINGS["WEBSOCKET_MAX_MESSAGE_SIZE"]
    finally:
        finish(client)


def test_invalid_utf8_text_closes_with_1007(project: DevrunProcess) -> None:
    client = connect(project, "/ws/echo/")
    try:
        client.send_frame(ABNF.create_frame(b"\xff\xfe", ABNF.OPCODE_TEXT))
        assert close_code(next_close(client)) == 1007
    finally:
        finish(client)


# -- the websocket scope and misbehaving applications ----------------------------------------


def test_websocket_scope_has_every_key(cases: DevrunProcess) -> None:
    client = connect(cases, "/ws/scope?room=1", subprotocols=["one", "two"], header=["X-Tag: t"])
    try:
        assert (client.getheaders() or {}).get("x-case") == "accepted"  # the application's accept headers
        assert client.getsubprotocol() == "two"  # the application's choice
        scope = json.loads(client.recv())
        assert client.sock is not None
        local_port = client.sock.getsockname()[1]
    finally:
        finish(client)
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == "ws"
    assert (scope["path"], scope["raw_path"]) == ("/ws/scope", {"bytes": "/ws/scope"})
    assert scope["query_string"] == {"bytes": "room=1"}
    assert scope["root_path"] == ""
    assert scope["subprotocols"] == ["one", "two"]
    assert scope["client"] == ["127.0.0.1", local_port]
    assert scope["server"] == ["127.0.0.1", cases.port]
    assert scope["state"] == {"started": "yes"}
    headers = {name["bytes"]: value["bytes"] for name, value in scope["headers"]}
    assert headers["x-tag"] == "t"
    assert headers["upgrade"] == "websocket"


def test_exception_before_accept_gets_500(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(cases, "/ws/raise-before-accept")
    assert refused.value.status_code == 500
    logged(cases, "Exception in ASGI application", first_line)


def test_exception_after_accept_closes_with_1011(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    client = connect(cases, "/ws/raise-after-accept")
    try:
        client.send("trigger")
        assert close_code(next_close(client)) == 1011
    finally:
        finish(client)
    logged(cases, "raised on an open websocket", first_line)


def test_return_after_accept_closes_normally(cases: DevrunProcess) -> None:
    client = connect(cases, "/ws/return-after-accept")
    try:
        assert close_code(next_close(client)) == 1000
    finally:
        finish(client)


# -- idle timeout ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idle_server(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    server = start_server("--backend", "asyncio", env={"TESTPROJECT_DEVSERVER": '{"WEBSOCKET_IDLE_TIMEOUT": 2}'})
    yield server
    server.stop()


def test_silent_client_is_pinged_then_closed(idle_server: DevrunProcess) -> None:
    """A client that never answers (here: never reads, so never pongs) is closed with 1001."""
    client = connect(idle_server, "/ws/echo/", timeout=15)
    try:
        # Nothing is read for now; the first frames that come are the server's ping, then its close.
        assert client.recv_frame().opcode == ABNF.OPCODE_PING  # type: ignore[no-untyped-call]
        frame = client.recv_frame()  # type: ignore[no-untyped-call]
        assert frame.opcode == ABNF.OPCODE_CLOSE
        assert close_code(frame) == 1001
        assert frame.data[2:] == b"idle timeout"
    finally:
        finish(client)


def test_client_answering_pings_stays_open_past_the_idle_timeout(idle_server: DevrunProcess) -> None:
    client = connect(idle_server, "/ws/echo/")
    try:
        pings = 0
        until = time.monotonic() + 4  # twice the idle timeout, saying nothing but pongs
        while time.monotonic() < until:
            opcode, _ = client.recv_data_frame(True)  # a ping: answered with a pong by the client
            assert opcode == ABNF.OPCODE_PING
            pings += 1
        assert pings >= 2
        client.send("still here")
        assert client.recv() == "still here"
    finally:
        finish(client)
