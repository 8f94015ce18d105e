"""``--cert-file``/``--key-file`` through the real command, up to the backend: the certificate
created where asked (its names read back), the one-line errors, and the extra it needs.

The backends do not wrap their sockets in TLS yet, so the command stops there with its own
one-line error; serving HTTPS is tested once they do.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..server import REPO, run_devrun
from ..tls.test_certificates import subject_alt_names
from .test_command import assert_one_line_error

NOT_YET = "The threaded backend cannot serve HTTPS yet."
HIDDEN_PACKAGES = REPO / "tests" / "hidden"


def test_a_missing_certificate_is_created_where_asked(project_env: dict[str, str], tmp_path: Path) -> None:
    cert = tmp_path / "dev.pem"
    result = run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(cert)], project_env)
    assert_one_line_error(result, 2, NOT_YET)
    assert "Created a self-signed certificate for localhost, 127.0.0.1 and ::1" in result.stdout
    assert repr(str(cert)) in result.stdout
    assert subject_alt_names(cert) == ["localhost", "127.0.0.1", "::1"]
    assert "PRIVATE KEY" in cert.read_text()


def test_the_settings_name_the_files_too(project_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = tmp_path / "dev.crt", tmp_path / "dev.key"
    env = {**project_env, "TESTPROJECT_DEVSERVER": json.dumps({"CERT_FILE": str(cert), "KEY_FILE": str(key)})}
    result = run_devrun(["127.0.0.1:0", "--noreload"], env)
    assert_one_line_error(result, 2, NOT_YET)
    assert subject_alt_names(cert) == ["localhost", "127.0.0.1", "::1"]
    assert "PRIVATE KEY" in key.read_text()
    assert "PRIVATE KEY" not in cert.read_text()


def test_an_existing_pair_is_used_without_cryptography(project_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = tmp_path / "dev.crt", tmp_path / "dev.key"
    run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(cert), "--key-file", str(key)], project_env)
    before = cert.read_bytes()
    env = {**project_env, "PYTHONPATH": str(HIDDEN_PACKAGES), "DEVSERVER_TEST_HIDDEN": "cryptography"}
    result = run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(cert), "--key-file", str(key)], env)
    assert_one_line_error(result, 2, NOT_YET)  # it got as far as the backend: the pair loaded
    assert "Created" not in result.stdout
    assert cert.read_bytes() == before


def test_without_cryptography_the_error_names_the_extra(project_env: dict[str, str], tmp_path: Path) -> None:
    cert = tmp_path / "dev.pem"
    env = {**project_env, "PYTHONPATH": str(HIDDEN_PACKAGES), "DEVSERVER_TEST_HIDDEN": "cryptography"}
    result = run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(cert)], env)
    assert_one_line_error(result, 2, "needs cryptography", "pip install 'django-devrun[https]'")
    assert not cert.exists()


def test_a_mismatched_pair_is_a_one_line_error(project_env: dict[str, str], tmp_path: Path) -> None:
    first, second = tmp_path / "first.pem", tmp_path / "second.pem"
    for path in (first, second):
        run_devrun(["127.0.0.1:0", "--noreload", "--cert-file", str(path)], project_env)
    result = run_devrun(
        ["127.0.0.1:0", "--noreload", "--cert-file", str(first), "--key-file", str(second)], project_env
    )
    assert_one_line_error(result, 2, "does not belong to the certificate", str(first))


def test_a_key_without_a_certificate_is_a_one_line_error(project_env: dict[str, str], tmp_path: Path) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--key-file", str(tmp_path / "dev.key")], project_env)
    assert_one_line_error(result, 2, "--key-file needs --cert-file")
