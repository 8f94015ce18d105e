"""The ``devrun_server`` pytest plugin, exercised by real pytest runs in subprocesses.

Each case writes a small test project into a temporary directory and runs pytest on it, the
way a user's suite would: the plugin comes from the installed entry point, pytest-django is
active, and the fixture starts the real ``manage.py devrun`` of testproject.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, cast

import pytest

from devserver.pytest_plugin import MANAGE_ENV, manage_py

from ..server import MANAGE, REPO, STARTING

#: A start timeout the fail-fast cases must beat by far.
GENEROUS_START_TIMEOUT = 120.0


def write_suite(
    root: Path, tests: str, *, manage: Path = MANAGE, start_timeout: float = GENEROUS_START_TIMEOUT
) -> None:
    (root / "pytest.ini").write_text(
        textwrap.dedent(
            f"""\
            [pytest]
            devrun_manage = {manage}
            devrun_start_timeout = {start_timeout}
            pythonpath = . {MANAGE.parent}
            filterwarnings =
                error
            """
        )
    )
    (root / "test_site.py").write_text(textwrap.dedent(tests))


def run_suite(root: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GENEROUS_START_TIMEOUT + 60,
        check=False,
    )
    return result, time.monotonic() - started


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_session_server_serves_and_is_stopped_by_pid(project_env: dict[str, str], tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    write_suite(
        tmp_path,
        f"""\
        import json
        from pathlib import Path

        RECORD = Path({str(record)!r})

        def test_get(devrun_server):
            response = devrun_server.get("/hello/")
            assert (response.status, response.text) == (200, "Hello, world!")
            assert devrun_server.url == f"http://127.0.0.1:{{devrun_server.port}}/"
            assert {STARTING!r} + " " + devrun_server.url in devrun_server.log()
            RECORD.write_text(json.dumps({{"pid": devrun_server.pid, "port": devrun_server.port}}))

        def test_one_server_per_session(devrun_server):
            assert json.loads(RECORD.read_text())["pid"] == devrun_server.pid
            assert devrun_server.get("/json/").json() == {{"message": "hello", "items": [1, 2, 3]}}

        def test_factory_takes_arguments_and_stops_as_a_context_manager(devrun_factory, devrun_server):
            with devrun_factory("--backend", "threaded", "--shutdown-timeout", "1") as server:
                assert server.port != devrun_server.port
                assert server.get("/error/").status == 500
            assert server.process.returncode == 0

        def test_a_test_without_the_fixture_starts_nothing():
            assert True
        """,
    )
    result, _ = run_suite(tmp_path, project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    assert_gone(json.loads(record.read_text())["pid"])


def test_settings_module_from_pytest_django_reaches_the_server(project_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "ci_settings.py").write_text("from testproject.settings import *  # noqa: F403\n")
    write_suite(
        tmp_path,
        """\
        from django.conf import settings

        def test_banner_names_the_settings(devrun_server):
            assert settings.SETTINGS_MODULE == "ci_settings"  # pytest-django is active and configured
            assert "using settings 'ci_settings'" in devrun_server.log()
            assert devrun_server.get("/hello/").status == 200
        """,
    )
    env = {name: value for name, value in project_env.items() if name != "DJANGO_SETTINGS_MODULE"}
    result, _ = run_suite(tmp_path, env, "--ds", "ci_settings")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_server_crashing_at_start_fails_fast_with_its_output(project_env: dict[str, str], tmp_path: Path) -> None:
    write_suite(
        tmp_path,
        """\
        import json

        def test_uses_a_broken_server(devrun_factory):
            devrun_factory(env={"TESTPROJECT_DEVSERVER": json.dumps({"NOPE": 1})})
        """,
    )
    result, seconds = run_suite(tmp_path, project_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout
    assert "devrun exited with status 2 before it was ready." in result.stdout
    assert "Unknown setting DEVSERVER['NOPE']" in result.stdout  # the server's own output
    assert seconds < GENEROUS_START_TIMEOUT / 4, seconds


def test_server_that_never_gets_ready_fails_at_the_deadline(project_env: dict[str, str], tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    hung = tmp_path / "hung_manage.py"
    hung.write_text(
        textwrap.dedent(
            f"""\
            import os, threading
            from pathlib import Path
            Path({str(pid_file)!r}).write_text(str(os.getpid()))
            print("hung server: starting and never ready", flush=True)
            threading.Event().wait()
            """
        )
    )
    write_suite(
        tmp_path,
        """\
        def test_uses_a_hung_server(devrun_server):
            pass
        """,
        start_timeout=2,
    )
    result, seconds = run_suite(tmp_path, project_env, "--devrun-manage", str(hung))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout
    assert "devrun was not ready within 2 s; it was killed." in result.stdout
    assert "hung server: starting and never ready" in result.stdout
    assert seconds < GENEROUS_START_TIMEOUT / 4, seconds
    assert_gone(int(pid_file.read_text()))


def test_missing_manage_py_is_a_clear_failure(project_env: dict[str, str], tmp_path: Path) -> None:
    write_suite(
        tmp_path,
        """\
        def test_needs_a_server(devrun_server):
            pass
        """,
        manage=tmp_path / "nowhere" / "manage.py",
    )
    result, _ = run_suite(tmp_path, project_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "devrun_server: no manage.py at" in result.stdout


class StubConfig:
    """The four things :func:`manage_py` reads from a pytest config."""

    def __init__(self, *, option: str | None, ini: str, inipath: Path | None, rootpath: Path) -> None:
        self.option, self.ini, self.inipath, self.rootpath = option, ini, inipath, rootpath

    def getoption(self, name: str, default: Any = None) -> Any:
        return self.option

    def getini(self, name: str) -> str:
        return self.ini


def located(monkeypatch: pytest.MonkeyPatch, env: str | None, **config: Any) -> Path:
    if env is None:
        monkeypatch.delenv(MANAGE_ENV, raising=False)
    else:
        monkeypatch.setenv(MANAGE_ENV, env)
    return manage_py(cast("pytest.Config", StubConfig(**config)))


def test_manage_py_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    base = {"inipath": REPO / "setup" / "pytest.ini", "rootpath": REPO}
    everything = {"option": "cli/manage.py", "ini": "ini/manage.py", **base}
    assert located(monkeypatch, "env/manage.py", **everything) == tmp_path / "cli" / "manage.py"
    assert located(monkeypatch, "env/manage.py", **{**everything, "option": None}) == tmp_path / "env" / "manage.py"
    assert located(monkeypatch, None, **{**everything, "option": None}) == REPO / "setup" / "ini" / "manage.py"
    assert located(monkeypatch, None, option=None, ini="", **base) == REPO / "manage.py"
