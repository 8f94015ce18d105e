"""The testproject served end to end by the real command."""

from __future__ import annotations

import http.client

from ..server import DevrunProcess


def get(server: DevrunProcess, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_hello_is_served(server: DevrunProcess) -> None:
    assert get(server, "/hello/") == (200, b"Hello, world!")


def test_banner_names_backend(server: DevrunProcess, backend_name: str) -> None:
    assert f"{backend_name} backend" in server.output()
