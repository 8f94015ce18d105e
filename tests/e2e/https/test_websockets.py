"""WebSockets over TLS (``wss://``) on the asyncio backend: Channels' echo consumer, and the
scope's scheme, with a real client that verifies the certificate served."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from ...conftest import ServerFactory
from ...server import DevrunProcess
from ..test_asgi_gateway import CASES
from ..test_websockets import finish


@pytest.fixture(scope="module")
def secure_cases(start_server: ServerFactory, combined: Path) -> Iterator[DevrunProcess]:
    server = start_server("--backend", "asyncio", "--nostatic", "--cert-file", str(combined), env=CASES)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secure_project(start_server: ServerFactory, combined: Path) -> Iterator[DevrunProcess]:
    server = start_server("--backend", "asyncio", "--cert-file", str(combined))
    yield server
    server.stop()


def connect(server: DevrunProcess, path: str, cert_file: Path) -> websocket.WebSocket:
    """A ``wss://`` client that trusts only the certificate the server was given."""
    return websocket.create_connection(
        f"wss://{server.host}:{server.port}{path}",
        timeout=10,
        sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(cert_file), "check_hostname": False},
    )


def test_messages_are_echoed_over_wss(secure_project: DevrunProcess, combined: Path) -> None:
    client = connect(secure_project, "/ws/echo/", combined)
    try:
        client.send("over TLS")
        assert client.recv() == "over TLS"
        client.send_binary(bytes(range(256)))
        assert client.recv() == bytes(range(256))
    finally:
        finish(client)


def test_the_websocket_scope_says_wss(secure_cases: DevrunProcess, combined: Path) -> None:
    client = connect(secure_cases, "/ws/scope?room=1", combined)
    try:
        scope = json.loads(client.recv())
    finally:
        finish(client)
    assert scope["scheme"] == "wss"
