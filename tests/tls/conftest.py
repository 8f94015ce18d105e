"""A certificate and key made once for the TLS tests, in the layouts devrun accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from devserver.tls.certificates import write_self_signed
from devserver.tls.files import TLSFiles


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
