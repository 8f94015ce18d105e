"""Code that is broken at launch: the server binds, shows the error, and serves the fix.

Each way in starts on a copy of the test project with one file broken (a ``SyntaxError`` or
an ``ImportError``): ``python -m devserver`` (every file, settings included), the ``devrun``
console script, ``manage.py runserver`` with the ``devserver.runserver`` app, and plain
``manage.py devrun`` (whose app hands over the same way). Requests get the crash page (500,
with the traceback) until the file is fixed; then the project is served on the same port.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..server import REPO, STARTING, DevrunProcess
from .test_reload import DEADLINE, Reloading, copy_project

#: The supervisor's line when a child fails: it names the URL (no banner was printed).
CRASHED = re.compile(
    r"^devserver: The server process exited with status 1\. "
    r"Requests to http://127\.0\.0\.1:(?P<port>\d+)/ get an error page until a file changes\.$"
)
FILES = {
    "models": "shop/models.py",
    "apps": "shop/apps.py",
    "urls": "shop/urls.py",
    "settings": "testproject/settings.py",
}
#: What breaks the file, and the last line of the traceback it causes.
ERRORS = {
    "syntax": ("\nbroken = (\n", "SyntaxError: '(' was never closed"),
    "import": (
        "\nfrom django.db import no_such_name  # noqa: E402\n",
        "ImportError: cannot import name 'no_such_name' from 'django.db'",
    ),
}
DEVRUN_SCRIPT = Path(sys.executable).with_name("devrun")


def command_for(way: str) -> tuple[list[str], dict[str, str]]:
    """The command line (run where manage.py is) and the extra environment of a way in."""
    if way == "python -m devserver":
        return [sys.executable, "-u", "-m", "devserver"], {}
    if way == "devrun script":
        return [str(DEVRUN_SCRIPT)], {}
    if way == "runserver":
        return [sys.executable, "-u", "manage.py", "runserver"], {"TESTPROJECT_FIRST_APPS": "devserver.runserver"}
    assert way == "devrun"
    return [sys.executable, "-u", "manage.py", "devrun"], {"TESTPROJECT_FIRST_APPS": "devserver"}


@dataclass
class BrokenLaunch:
    """A server started on a project with one broken file."""

    project: Reloading
    broken: Path
    original: str
    port: int

    def fix(self) -> None:
        self.broken.write_text(self.original)


Launch = Callable[[str, str, str], BrokenLaunch]


@pytest.fixture
def launch_broken(project_env: dict[str, str], tmp_path: Path) -> Iterator[Launch]:
    started: list[DevrunProcess] = []

    def launch(way: str, file: str, error: str) -> BrokenLaunch:
        root = copy_project(tmp_path / f"project{len(started)}")
        broken = root / FILES[file]
        original = broken.read_text()
        broken.write_text(original + ERRORS[error][0])
        command, extra = command_for(way)
        exclude = ["--reload-exclude", str(REPO / "devserver")]  # others edit this checkout meanwhile
        server = DevrunProcess(["127.0.0.1:0", *exclude], {**project_env, **extra}, cwd=root, command=command)
        started.append(server)
        line = server.wait_for_line(lambda text: CRASHED.match(text) is not None, DEADLINE)
        match = CRASHED.match(line)
        assert match is not None
        server.host, server.port = "127.0.0.1", int(match["port"])
        return BrokenLaunch(Reloading(root, server), broken, original, server.port)

    yield launch
    for server in started:
        if server.process.poll() is None:
            server.stop()


def assert_broken_then_fixed(launch: BrokenLaunch, file: str, error: str) -> None:
    project, server = launch.project, launch.project.server
    assert ERRORS[error][1] in server.output()  # printed, as a crash after the start would be
    status, page = project.wait_for("/hello/", lambda status, body: status != 0)
    assert status == 500
    assert b"<pre>Traceback (most recent call last):" in page
    assert ERRORS[error][1].replace("'", "&#x27;").encode() in page
    assert FILES[file].encode() in page
    mark = project.mark()
    launch.fix()
    project.wait_for("/hello/", lambda status, body: (status, body) == (200, b"Hello, world!"))
    assert project.wait_for_reload(mark)["reason"] == f"{FILES[file]} changed"
    banner = server.wait_for_line(lambda line: STARTING in line, DEADLINE, start=mark)
    assert banner.endswith(f"http://127.0.0.1:{launch.port}/")  # the port it bound at launch, kept
    ready = server.wait_for_line(lambda line: line.startswith("devserver: ready"), DEADLINE, start=mark)
    assert f" pid={server.pid} " in ready  # the process we started supervises (and is what to signal)
    assert server.stop() == 0


@pytest.mark.parametrize("error", sorted(ERRORS))
@pytest.mark.parametrize("file", sorted(FILES))
def test_python_m_devserver_starts_on_broken_code(launch_broken: Launch, file: str, error: str) -> None:
    launch = launch_broken("python -m devserver", file, error)
    assert_broken_then_fixed(launch, file, error)


@pytest.mark.skipif(not DEVRUN_SCRIPT.exists(), reason="the devrun script is installed with the package")
def test_the_devrun_script_starts_on_broken_code(launch_broken: Launch) -> None:
    launch = launch_broken("devrun script", "models", "syntax")
    assert_broken_then_fixed(launch, "models", "syntax")


@pytest.mark.parametrize(
    ("file", "error"), [("models", "syntax"), ("models", "import"), ("apps", "syntax"), ("urls", "syntax")]
)
def test_runserver_with_the_app_starts_on_broken_code(launch_broken: Launch, file: str, error: str) -> None:
    launch = launch_broken("runserver", file, error)
    assert "Watching for file changes with StatReloader" not in launch.project.server.output()  # not Django's
    assert_broken_then_fixed(launch, file, error)


@pytest.mark.parametrize(("file", "error"), [("models", "syntax"), ("apps", "import")])
def test_devrun_starts_on_broken_code(launch_broken: Launch, file: str, error: str) -> None:
    launch = launch_broken("devrun", file, error)
    assert_broken_then_fixed(launch, file, error)


@pytest.mark.parametrize("way", ["runserver", "devrun"])
def test_broken_settings_stop_manage_py_with_a_traceback(project_env: dict[str, str], tmp_path: Path, way: str) -> None:
    """The documented limit: manage.py needs the settings to find the app at all."""
    root = copy_project(tmp_path / "project")
    settings = root / FILES["settings"]
    settings.write_text(settings.read_text() + ERRORS["syntax"][0])
    command, extra = command_for(way)
    result = subprocess.run(
        [*command, "127.0.0.1:0"],
        cwd=root,
        env={**project_env, **extra},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert result.returncode == 1
    assert ERRORS["syntax"][1] in result.stderr
