"""The contract suite over HTTPS: the same tests, against servers started with ``--cert-file``.

A module that imports a contract module's tests and these fixtures runs every one of them
again, each server it starts serving TLS (the raw client and ``DevrunProcess.connection`` then
speak TLS, trusting the certificate and checking its names), on every backend that serves TLS
(this package's ``backend_name``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ...conftest import ServerFactory
from ...server import DevrunProcess


@pytest.fixture(scope="module")
def start_server(start_server: ServerFactory, combined: Path) -> ServerFactory:
    """The suite's own factory, with ``--cert-file`` added to every server."""

    def start(*args: str, **options: object) -> DevrunProcess:
        process = start_server(*args, "--cert-file", str(combined), **options)
        assert not process.url or process.url.startswith("https://"), process.url  # (unset when not waited for)
        return process

    return start


@pytest.fixture(scope="module")
def server(start_server: ServerFactory, backend_name: str) -> Iterator[DevrunProcess]:
    process = start_server("--backend", backend_name)
    yield process
    process.stop()
