"""Which files serve HTTPS, and the certificate created when the file does not exist."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devserver.errors import ConfigurationError
from devserver.extras import MissingExtraError
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles, prepare_certificate

from .test_certificates import subject_alt_names


def test_no_certificate_means_plain_http() -> None:
    assert TLSFiles.from_settings(None, None) is None


def test_a_key_without_a_certificate_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="--key-file needs --cert-file"):
        TLSFiles.from_settings(None, "dev.key")


def test_paths_are_absolute_and_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert TLSFiles.from_settings("~/dev.pem", "dev.key") == TLSFiles(tmp_path / "dev.pem", tmp_path / "dev.key")


def test_a_missing_certificate_is_created_and_the_message_says_where(tmp_path: Path) -> None:
    files = TLSFiles(tmp_path / "dev.pem")
    message = prepare_certificate(files)
    assert message is not None
    assert message.startswith("Created a self-signed certificate for localhost, 127.0.0.1 and ::1, valid until ")
    assert repr(str(files.cert_file)) in message
    assert subject_alt_names(files.cert_file) == ["localhost", "127.0.0.1", "::1"]
    server_context(files)


def test_a_missing_pair_is_created_in_two_files(tmp_path: Path) -> None:
    files = TLSFiles(tmp_path / "dev.crt", tmp_path / "dev.key")
    message = prepare_certificate(files)
    assert message is not None
    assert f"its key in {str(tmp_path / 'dev.key')!r}" in message
    server_context(files)


def test_an_existing_certificate_is_used_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "dev.pem"
    path.write_text("whatever the user put there")
    assert prepare_certificate(TLSFiles(path)) is None
    assert path.read_text() == "whatever the user put there"


def test_an_existing_key_is_never_replaced(tmp_path: Path) -> None:
    key = tmp_path / "mine.key"
    key.write_text("my key")
    with pytest.raises(ConfigurationError, match=r"exists but --cert-file .* does not"):
        prepare_certificate(TLSFiles(tmp_path / "dev.crt", key))
    assert key.read_text() == "my key"


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"the directory '.*nowhere' does not exist"):
        prepare_certificate(TLSFiles(tmp_path / "nowhere" / "dev.pem"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigurationError, match="is not writable"):
            prepare_certificate(TLSFiles(tmp_path / "dev.pem"))
    finally:
        tmp_path.chmod(0o700)


def test_without_cryptography_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)  # what Python does for a package it must not import
    with pytest.raises(MissingExtraError) as caught:
        prepare_certificate(TLSFiles(tmp_path / "dev.pem"))
    assert str(caught.value) == (
        "Creating a certificate (--cert-file) needs cryptography, which is not installed: "
        "pip install 'django-devrun[https]'"
    )
    assert not (tmp_path / "dev.pem").exists()
