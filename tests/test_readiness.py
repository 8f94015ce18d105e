"""The readiness contract's parts: the ready line, the atomic ready file, the pid to signal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devserver.errors import ConfigurationError
from devserver.readiness import (
    SUPERVISOR_PID_ENV,
    Readiness,
    ReadyFile,
    parse_ready_line,
    remove_ready_file,
    signal_pid,
)

READY = Readiness(url="http://127.0.0.1:43121/", host="127.0.0.1", port=43121, pid=12345, backend="threaded")


def test_ready_line_has_the_documented_format() -> None:
    assert READY.ready_line() == (
        "devserver: ready url=http://127.0.0.1:43121/ host=127.0.0.1 port=43121 pid=12345 backend=threaded"
    )


def test_ready_line_parses_back() -> None:
    assert parse_ready_line(READY.ready_line() + "\n") == READY


@pytest.mark.parametrize(
    "line",
    [
        "Starting development server at http://127.0.0.1:8000/",
        "devserver: ready url=http://127.0.0.1:1/ port=1",
        "",
    ],
)
def test_other_lines_are_not_ready_lines(line: str) -> None:
    assert parse_ready_line(line) is None


@pytest.mark.parametrize(
    ("addr", "host", "url"),
    [
        ("127.0.0.1", "127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "127.0.0.1", "http://127.0.0.1:8000/"),
        ("0", "127.0.0.1", "http://127.0.0.1:8000/"),
        ("::", "::1", "http://[::1]:8000/"),
        ("::1", "::1", "http://[::1]:8000/"),
        ("localhost", "localhost", "http://localhost:8000/"),
    ],
)
def test_wildcard_addresses_are_announced_as_loopback(addr: str, host: str, url: str) -> None:
    readiness = Readiness.for_address(addr, 8000, backend="threaded", pid=1)
    assert (readiness.host, readiness.url) == (host, url)


def test_ipv6_ready_line_parses_back() -> None:
    readiness = Readiness.for_address("::1", 8000, backend="single", pid=7)
    assert parse_ready_line(readiness.ready_line()) == readiness


def test_ready_file_holds_the_json_document(tmp_path: Path) -> None:
    ready_file = ReadyFile(tmp_path / "ready.json")
    ready_file.write(READY)
    document = json.loads((tmp_path / "ready.json").read_text())
    assert document == {
        "url": "http://127.0.0.1:43121/",
        "host": "127.0.0.1",
        "port": 43121,
        "pid": 12345,
        "backend": "threaded",
    }
    assert ready_file.read() == READY


def test_ready_file_write_replaces_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    ready_file = ReadyFile(tmp_path / "ready.json")
    ready_file.write(READY)
    ready_file.write(Readiness.for_address("127.0.0.1", 9, backend="single", pid=2))
    assert [path.name for path in tmp_path.iterdir()] == ["ready.json"]
    assert ready_file.read().port == 9


def test_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: str, destination: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        ReadyFile(tmp_path / "ready.json").write(READY)
    assert list(tmp_path.iterdir()) == []


def test_remove_is_idempotent(tmp_path: Path) -> None:
    ready_file = ReadyFile(tmp_path / "ready.json")
    ready_file.write(READY)
    ready_file.remove()
    assert not ready_file.path.exists()
    ready_file.remove()
    remove_ready_file(tmp_path / "ready.json")


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ReadyFile("ready.json").path == tmp_path / "ready.json"


def test_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ReadyFile(tmp_path / "nowhere" / "ready.json").validate()


def test_directory_as_ready_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is a directory"):
        ReadyFile(tmp_path).validate()


def test_signal_pid_is_this_process_without_a_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SUPERVISOR_PID_ENV, raising=False)
    monkeypatch.delenv("RUN_MAIN", raising=False)
    assert signal_pid() == os.getpid()


def test_signal_pid_is_the_supervisor_when_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SUPERVISOR_PID_ENV, "4242")
    monkeypatch.setenv("RUN_MAIN", "true")
    assert signal_pid() == 4242


def test_signal_pid_is_the_parent_in_a_reloader_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SUPERVISOR_PID_ENV, raising=False)
    monkeypatch.setenv("RUN_MAIN", "true")
    assert signal_pid() == os.getppid()


def test_an_https_server_announces_an_https_url() -> None:
    readiness = Readiness.for_address("0.0.0.0", 8443, backend="threaded", pid=1, scheme="https")
    assert readiness.url == "https://127.0.0.1:8443/"
    assert parse_ready_line(readiness.ready_line()) == readiness
