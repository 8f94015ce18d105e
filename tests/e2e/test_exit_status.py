"""Every documented exit status, produced by the case that should produce it.

0 after SIGINT or SIGTERM; 1 when the address cannot be bound (and when ``--check`` fails);
2 for a bad option or setting; 3 (the reloader child's "restart me") never leaks out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX

from ..conftest import ServerFactory
from ..server import MANAGE, START_TIMEOUT, STOP_TIMEOUT, run_devrun

#: What Django's reloader (and ours) prints once the child watches files.
WATCHING = "Watching for file changes"
RELOADER_AVAILABLE = importlib.util.find_spec("devserver.reload.supervisor") is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero(start_server: ServerFactory, signum: signal.Signals) -> None:
    server = start_server()
    server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX))  # signals stop it cleanly from here on
    server.signal(signum)
    assert server.wait() == 0, server.output()


def test_port_in_use_exits_one(project_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_devrun([f"127.0.0.1:{port}", "--noreload"], project_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "That port is already in use." in result.stderr


def test_unknown_option_exits_two(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--nope"], project_env)
    assert result.returncode == 2
    assert "unrecognized arguments: --nope" in result.stderr


def test_bad_setting_exits_two(project_env: dict[str, str]) -> None:
    env = {**project_env, "TESTPROJECT_DEVSERVER": json.dumps({"NOPE": 1})}
    result = run_devrun(["127.0.0.1:0", "--noreload"], env)
    assert result.returncode == 2
    assert "Unknown setting DEVSERVER['NOPE']" in result.stderr


def test_bad_address_exits_two(project_env: dict[str, str]) -> None:
    result = run_devrun(["not a port", "--noreload"], project_env)
    assert result.returncode == 2
    assert "is not a valid port number or address:port pair" in result.stderr


def test_failed_check_exits_one(project_env: dict[str, str]) -> None:
    result = run_devrun(["--check", "/error/"], project_env)
    assert result.returncode == 1, result.stdout + result.stderr


def copy_testproject(destination: Path) -> Path:
    """A private copy of testproject, so touching its files restarts only our server."""
    shutil.copytree(
        MANAGE.parent,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "media", "staticfiles"),
    )
    return destination / "manage.py"


def wait_until(
    condition: str, predicate: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes], log: Path
) -> None:
    """Poll ``predicate`` until true; fail with the log if the deadline passes or the process ends."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{condition}: not reached (exit status {process.poll()}); output:\n{log.read_text()}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.05)  # returns at once if the process ends


@pytest.mark.slow
@pytest.mark.skipif(not RELOADER_AVAILABLE, reason="the reloader (devserver.reload.supervisor) is not in this tree yet")
def test_restart_code_never_leaks_out_of_the_supervisor(project_env: dict[str, str], tmp_path: Path) -> None:
    manage = copy_testproject(tmp_path / "project")
    ready_file = tmp_path / "ready.json"
    log = tmp_path / "devrun.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(manage), "devrun", "127.0.0.1:0", "--ready-file", str(ready_file)],
            cwd=manage.parent,
            env=project_env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready_lines() -> int:
            return log.read_text().count(READY_LINE_PREFIX)

        def watching() -> bool:
            return ready_lines() >= 1 and ready_file.exists() and WATCHING in log.read_text()

        wait_until("first start, watching for changes", watching, START_TIMEOUT, process, log)
        document = json.loads(ready_file.read_text())
        assert document["pid"] == process.pid  # the supervisor: the process a clean stop signals
        with (manage.parent / "shop" / "views.py").open("a") as views:
            views.write("\n# changed by the test: the supervisor must restart its child\n")
        wait_until("restart after a change", lambda: ready_lines() >= 2, START_TIMEOUT, process, log)
        assert ready_file.exists()
        assert json.loads(ready_file.read_text())["port"] == document["port"]  # the supervisor kept the socket
        os.kill(document["pid"], signal.SIGTERM)
        status = process.wait(STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == 0, log.read_text()
    assert not ready_file.exists()
