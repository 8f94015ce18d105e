"""django-extensions installed beside devserver: ``devrun`` and ``runserver_plus`` are both
listed, and both serve the project; neither command hides the other.

https://django-extensions.readthedocs.io/en/latest/runserver_plus.html
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from ..server import DevrunProcess
from .project import DEADLINE, Variant, get

pytest.importorskip("django_extensions")
pytest.importorskip("werkzeug")  # runserver_plus needs it

SETTINGS = """\
INSTALLED_APPS = [*INSTALLED_APPS, "django_extensions"]
"""
WERKZEUG_URL = re.compile(r"Running on (http://127\.0\.0\.1:(\d+))")


@pytest.fixture
def project(make_variant: Callable[..., Variant]) -> Variant:
    return make_variant("django_extensions", SETTINGS)


def manage(project: Variant, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project.root / "manage.py"), *args],
        cwd=project.root,
        env={**project.env, "DJANGO_SETTINGS_MODULE": project.settings},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE * 2,
        check=False,
    )


@pytest.fixture
def runserver_plus(project: Variant) -> Iterator[DevrunProcess]:
    """``runserver_plus 127.0.0.1:0`` with Werkzeug's stat reloader (django-extensions 4.1's
    ``--noreload`` fails on Werkzeug 3: ``KeyError: 'WERKZEUG_SERVER_FD'``); its process group
    is stopped by the PID it was started with."""
    server = DevrunProcess(
        ["127.0.0.1:0", "--reloader-type", "stat", "--nopin"],
        {**project.env, "DJANGO_SETTINGS_MODULE": project.settings},
        cwd=project.root,
        manage=project.root / "manage.py",
        new_session=True,
        subcommand="runserver_plus",
    )
    try:
        line = server.wait_for_line(lambda text: WERKZEUG_URL.search(text) is not None, DEADLINE)
        match = WERKZEUG_URL.search(line)
        assert match is not None
        server.port = int(match[2])
        yield server
    finally:
        if server.process.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait()


def test_help_lists_both_commands(project: Variant) -> None:
    result = manage(project, "help")
    assert result.returncode == 0, result.stderr
    sections = result.stdout
    assert "[devserver]\n    devrun\n" in sections
    assert "runserver_plus" in sections.split("[django_extensions]", 1)[1]


@pytest.mark.parametrize("command", ["devrun", "runserver_plus"])
def test_each_commands_help_is_its_own(project: Variant, command: str) -> None:
    result = manage(project, command, "--help")
    assert result.returncode == 0, result.stderr
    assert ("--backend" in result.stdout) is (command == "devrun")
    assert ("--reloader-type" in result.stdout) is (command == "runserver_plus")


def test_devrun_serves_with_django_extensions_installed(project: Variant) -> None:
    server = project.devrun(reload=True)
    assert get(server, "/hello/").body == b"Hello, world!"
    assert get(server, "/admin/login/").status == 200


def test_runserver_plus_serves_with_devserver_installed(runserver_plus: DevrunProcess) -> None:
    response = get(runserver_plus, "/hello/")
    assert (response.status, response.body) == (200, b"Hello, world!")
    assert "devserver" not in response.headers.get("server", "")  # Werkzeug answered, not devrun


def test_both_serve_the_project_at_the_same_time(project: Variant, runserver_plus: DevrunProcess) -> None:
    devrun = project.devrun()
    assert devrun.port != runserver_plus.port
    assert get(devrun, "/json/").body == get(runserver_plus, "/json/").body
    assert get(devrun, "/hello/").headers["server"].startswith("devserver/")
