"""``python -m devserver`` and the hand-over from manage.py: the supervisor that never imports the
project, seen from outside (working projects here; broken ones in test_broken_at_launch)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX

from ..server import REPO, DevrunProcess
from .test_broken_at_launch import CRASHED
from .test_command import assert_one_line_error
from .test_reload import DEADLINE, Reloading, children_of, copy_project, edit, needs_proc

PYTHON_M_DEVSERVER = [sys.executable, "-u", "-m", "devserver"]
MANAGE_PY = [sys.executable, "-u", "manage.py"]
#: Others edit this checkout's devserver/ while the suite runs: not our reloads.
EXCLUDE_CHECKOUT = ["--reload-exclude", str(REPO / "devserver")]

Start = Callable[..., Reloading]


@pytest.fixture
def start(project_env: dict[str, str], tmp_path: Path) -> Iterator[Start]:
    """``start(command, *args, env={...})`` in a fresh copy of the project, ready; stopped by PID."""
    started: list[DevrunProcess] = []

    def launch(command: list[str], *args: str, env: dict[str, str] | None = None) -> Reloading:
        root = copy_project(tmp_path / f"project{len(started)}")
        server = DevrunProcess(
            ["127.0.0.1:0", *EXCLUDE_CHECKOUT, *args], {**project_env, **(env or {})}, cwd=root, command=command
        )
        started.append(server)
        server.wait_ready(DEADLINE)
        server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX), DEADLINE)
        return Reloading(root, server)

    yield launch
    for server in started:
        if server.process.poll() is None:
            server.stop()


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def run(command: list[str], *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=DEADLINE * 2, check=False
    )


def test_python_m_devserver_serves_and_reloads_like_devrun(start: Start) -> None:
    project = start(PYTHON_M_DEVSERVER)
    ready = project.server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX))
    assert f" pid={project.server.pid} " in ready  # the launcher: what a clean stop signals
    before, mark = project.pid(), project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, launched!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, launched!")
    assert project.wait_for_reload(mark)["reason"] == "shop/views.py changed"
    assert project.pid() != before
    assert project.server.stop() == 0


@needs_proc
def test_the_next_child_comes_from_a_warm_spare(start: Start) -> None:
    project = start(PYTHON_M_DEVSERVER)
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, from a spare!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, from a spare!")
    project.wait_for_reload(mark)
    assert "devserver.reload.spare" in " ".join(cmdline(project.pid()))


@needs_proc
def test_manage_py_devrun_hands_its_process_over(start: Start) -> None:
    project = start([*MANAGE_PY, "devrun"])
    command = cmdline(project.server.pid)
    assert "from devserver.launcher import main" in command[command.index("-c") + 1]
    assert command[-len(project.server.args) + 2 :] == project.server.args[2:]  # manage.py devrun ... stays visible
    assert project.pid() in children_of(project.server.pid)


@needs_proc
def test_devserver_no_handover_keeps_the_supervisor_in_process(start: Start) -> None:
    project = start([*MANAGE_PY, "devrun"], env={"DEVSERVER_NO_HANDOVER": "1"})
    assert cmdline(project.server.pid) == project.server.args
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, in-process!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, in-process!")
    views = project.views.read_text()
    project.views.write_text(views + "\nbroken = (\n")
    _, page = project.wait_for("/hello/", lambda status, body: status == 500)
    assert b"SyntaxError" in page
    project.server.wait_for_line(lambda line: CRASHED.match(line) is not None, DEADLINE, start=mark)
    project.views.write_text(views)
    project.wait_for("/hello/", lambda status, body: body == b"Hello, in-process!")


def test_runserver_with_the_app_is_devrun(start: Start) -> None:
    project = start([*MANAGE_PY, "runserver"], env={"TESTPROJECT_FIRST_APPS": "devserver.runserver"})
    assert any(line.startswith("Serving WSGI with devserver") for line in project.server.lines)
    assert project.get("/hello/") == (200, b"Hello, world!")


def test_runserver_noreload_with_the_app_runs_devrun_in_process(start: Start) -> None:
    project = start([*MANAGE_PY, "runserver"], "--noreload", env={"TESTPROJECT_FIRST_APPS": "devserver.runserver"})
    assert any(line.startswith("Serving WSGI with devserver") for line in project.server.lines)
    assert children_of(project.server.pid) == set()


@needs_proc
def test_noreload_runs_manage_py_devrun_in_the_same_process(start: Start) -> None:
    project = start(PYTHON_M_DEVSERVER, "--noreload")
    command = cmdline(project.server.pid)
    assert command[command.index("manage.py") :] == ["manage.py", "devrun", *project.server.args[4:]]
    assert children_of(project.server.pid) == set()
    assert project.get("/hello/") == (200, b"Hello, world!")
    assert project.server.stop() == 0


def test_check_runs_through_python_m_devserver(project_env: dict[str, str], tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    result = run(PYTHON_M_DEVSERVER, "--check", "/hello/", cwd=root, env=project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Check passed: 1 path" in result.stdout


def test_devserver_settings_reach_the_supervisor_from_its_child(start: Start) -> None:
    """``DEVSERVER['RELOAD_INCLUDE']`` is read by the child and reported: after a crash, the
    supervisor (which never reads settings) restarts on a ``*.cfg`` change too."""
    project = start(PYTHON_M_DEVSERVER, env={"TESTPROJECT_DEVSERVER": json.dumps({"RELOAD_INCLUDE": ["*.cfg"]})})
    project.views.write_text(project.views.read_text() + "\nbroken = (\n")
    crashed = project.server.wait_for_line(lambda line: CRASHED.match(line) is not None, DEADLINE)
    mark = project.server.lines.index(crashed) + 1
    (project.root / "shop" / "feature.cfg").write_text("enabled = yes\n")
    project.server.wait_for_line(lambda line: CRASHED.match(line) is not None, DEADLINE, start=mark)


# -- bad input: one line and exit 2 (or 1 for a port in use), before anything starts ----------------


def test_a_missing_manage_py_is_one_line_and_exit_2(project_env: dict[str, str], tmp_path: Path) -> None:
    result = run(PYTHON_M_DEVSERVER, "127.0.0.1:0", cwd=tmp_path, env=project_env)
    assert_one_line_error(result, 2, "manage.py not found", "--manage PATH")


def test_manage_names_the_project_from_anywhere(start: Start, tmp_path: Path) -> None:
    project = start([*PYTHON_M_DEVSERVER, "--manage", str(tmp_path / "project0" / "manage.py")])
    assert project.get("/hello/") == (200, b"Hello, world!")


@pytest.mark.parametrize(
    ("args", "texts"),
    [
        (["not a port"], ["is not a valid port number or address:port pair"]),
        (["127.0.0.1:0", "--backend", "nope"], ["Unknown backend 'nope'"]),
        (["127.0.0.1:0", "--backend", "threaded", "--nothreading"], ["--nothreading", "threaded"]),
        (["127.0.0.1:0", "--check-strict"], ["--check-strict only makes sense with --check"]),
        (["127.0.0.1:0", "--ready-file", "/no/such/dir/ready.json"], ["--ready-file", "does not exist"]),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    project_env: dict[str, str], tmp_path: Path, args: list[str], texts: list[str]
) -> None:
    root = copy_project(tmp_path / "project")
    assert_one_line_error(run(PYTHON_M_DEVSERVER, *args, cwd=root, env=project_env), 2, *texts)


@pytest.mark.parametrize("command", [PYTHON_M_DEVSERVER, [*MANAGE_PY, "devrun"]], ids=["python -m", "manage.py"])
def test_a_bad_devserver_setting_at_launch_is_one_line_and_exit_2(
    project_env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    """The child reads the setting; the supervisor exits with its status, as devrun does in-process."""
    root = copy_project(tmp_path / "project")
    env = {**project_env, "TESTPROJECT_DEVSERVER": json.dumps({"NOPE": 1})}
    assert_one_line_error(run(command, "127.0.0.1:0", cwd=root, env=env), 2, "Unknown setting DEVSERVER['NOPE']")


def test_an_unknown_option_is_a_usage_error(project_env: dict[str, str], tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    result = run(PYTHON_M_DEVSERVER, "127.0.0.1:0", "--nope", cwd=root, env=project_env)
    assert result.returncode == 2
    assert "unrecognized arguments: --nope" in result.stderr


def test_a_port_in_use_exits_1(project_env: dict[str, str], tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(PYTHON_M_DEVSERVER, f"127.0.0.1:{port}", cwd=root, env=project_env)
    assert_one_line_error(result, 1, "That port is already in use.")


def test_a_bad_setting_comes_before_a_port_in_use_as_with_runserver(
    project_env: dict[str, str], tmp_path: Path
) -> None:
    """runserver checks ALLOWED_HOSTS before it binds; the supervisor binds first, so when it
    cannot, the command runs as it would without a reloader and says what runserver says."""
    root = copy_project(tmp_path / "project")
    env = {**project_env, "TESTPROJECT_DEBUG": "0", "TESTPROJECT_ALLOWED_HOSTS": ""}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(PYTHON_M_DEVSERVER, f"127.0.0.1:{port}", cwd=root, env=env)
    assert_one_line_error(result, 2, "You must set settings.ALLOWED_HOSTS if DEBUG is False.")


def test_help_works_anywhere_and_lists_devruns_options(project_env: dict[str, str], tmp_path: Path) -> None:
    result = run(PYTHON_M_DEVSERVER, "--help", cwd=tmp_path, env=project_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m devserver")
    for option in ("--manage PATH", "--reload-include GLOB", "--ready-file PATH", "--noreload", "--settings"):
        assert option in result.stdout
    assert re.search(r"--reload-include GLOB\s+Also restart", result.stdout)


def test_version_is_devruns(project_env: dict[str, str], tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    devrun = run([*MANAGE_PY, "devrun"], "--version", cwd=root, env=project_env)
    launcher = run(PYTHON_M_DEVSERVER, "--version", cwd=root, env=project_env)
    assert (launcher.returncode, launcher.stdout) == (0, devrun.stdout)
    assert launcher.stdout.startswith("devserver ")
