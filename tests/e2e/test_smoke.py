"""The testproject served end to end by the real command."""

from __future__ import annotations

from ..server import DevrunProcess, fetch


def get(server: DevrunProcess, path: str) -> tuple[int, bytes]:
    return fetch(server.host, server.port, path)


def test_hello_is_served(server: DevrunProcess) -> None:
    assert get(server, "/hello/") == (200, b"Hello, world!")


def test_banner_names_backend(server: DevrunProcess, backend_name: str) -> None:
    assert f"{backend_name} backend" in server.output()
