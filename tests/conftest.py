"""Fixtures shared by the whole suite: a migrated test database and running servers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devserver.backends import BACKENDS
from devserver.tls.certificates import write_self_signed
from devserver.tls.files import TLSFiles

from .server import MANAGE, REPO, DevrunProcess, backend_env, server_env

ServerFactory = Callable[..., DevrunProcess]


@pytest.fixture(scope="session")
def project_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for testproject subprocesses, with a migrated SQLite database of its own."""
    root = tmp_path_factory.mktemp("testproject")
    env = server_env(TESTPROJECT_DB=str(root / "db.sqlite3"), TESTPROJECT_MEDIA_ROOT=str(root / "media"))
    subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True, timeout=120
    )
    return env


@pytest.fixture(scope="session")
def start_server(project_env: dict[str, str]) -> Iterator[ServerFactory]:
    """Start ``devrun --noreload 127.0.0.1:0`` with extra args/env; every server is stopped at the end."""
    started: list[DevrunProcess] = []

    def start(
        *args: str, env: dict[str, str] | None = None, addrport: str = "127.0.0.1:0", wait: bool = True
    ) -> DevrunProcess:
        full_env = {**project_env, **backend_env(args), **(env or {})}
        server = DevrunProcess([addrport, "--noreload", *args], full_env)
        started.append(server)
        return server.wait_ready() if wait else server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    """Every registered backend: the contract suite runs once per name."""
    return str(request.param)


@pytest.fixture(scope="session")
def server(start_server: ServerFactory, backend_name: str) -> DevrunProcess:
    """One shared server per backend, for tests that do not change settings."""
    return start_server("--backend", backend_name)


@pytest.fixture
def repo() -> Path:
    return REPO


# -- certificates, in the layouts devrun accepts (made once: key generation is not free) -----


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A certificate and its key in two files."""
    directory = tmp_path_factory.mktemp("pair")
    files = TLSFiles(directory / "dev.crt", directory / "dev.key")
    write_self_signed(files.cert_file, files.key_file)
    return files


@pytest.fixture(scope="session")
def other_pair(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    directory = tmp_path_factory.mktemp("other")
    files = TLSFiles(directory / "other.crt", directory / "other.key")
    write_self_signed(files.cert_file, files.key_file)
    return files


@pytest.fixture(scope="session")
def combined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate with its key in the same file."""
    path = tmp_path_factory.mktemp("combined") / "dev.pem"
    write_self_signed(path, None)
    return path


@pytest.fixture(scope="session")
def https_server(start_server: ServerFactory, backend_name: str, combined: Path) -> DevrunProcess:
    """One shared HTTPS server per backend (the key in the certificate file)."""
    return start_server("--backend", backend_name, "--cert-file", str(combined))
