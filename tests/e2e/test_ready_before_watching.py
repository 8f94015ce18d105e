"""Being ready does not wait for the watch list, and nothing changed meanwhile is missed.

A receiver of ``autoreload_started`` in the project copy holds the child's watcher (it runs
on the watcher's thread, before anything is watched) until the test lets it go: the window
between the server's ready line and the watcher being up is as wide as the test wants,
without a sleep. Changes made inside it must still be acted on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX

from ..server import REPO, DevrunProcess
from .test_reload import DEADLINE, Reloading, copy_project, edit

HOLD = '''

import os as _os
import time as _time
from pathlib import Path as _Path

from django.utils.autoreload import autoreload_started as _autoreload_started


def _hold_the_watcher(sender: object, **kwargs: object) -> None:
    """Say the watcher is starting, then wait (with a deadline) until the test says go."""
    go = _Path(_os.environ["HOLD_WATCHER"])
    go.with_suffix(".waiting").write_text(str(_os.getpid()))
    deadline = _time.monotonic() + 60
    while not go.exists() and _time.monotonic() < deadline:
        _time.sleep(0.01)


_autoreload_started.connect(_hold_the_watcher)
'''


def hold_the_watcher(root: Path) -> None:
    with (root / "shop" / "apps.py").open("a") as apps:
        apps.write(HOLD)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)  # polling a file the server writes, with a deadline


@pytest.fixture
def held(project_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Reloading, Path]]:
    """A reloading devrun whose first watcher is held until the returned file exists."""
    root = copy_project(tmp_path / "project")
    hold_the_watcher(root)
    go = tmp_path / "go"
    server = DevrunProcess(
        ["127.0.0.1:0", "--reload-exclude", str(REPO / "devserver")],
        {**project_env, "HOLD_WATCHER": str(go)},
        cwd=root,
        manage=root / "manage.py",
    )
    try:
        server.wait_ready(DEADLINE)
        server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX), DEADLINE)  # not waiting for the watcher
        wait_until(go.with_suffix(".waiting").exists)
        assert not any("Watching for file changes" in line for line in server.lines)  # still held
        yield Reloading(root, server), go
    finally:
        go.touch()
        if server.process.poll() is None:
            server.stop()


def test_the_server_is_ready_before_its_watcher_and_an_edit_meanwhile_is_served(
    held: tuple[Reloading, Path],
) -> None:
    project, go = held
    assert project.get("/hello/") == (200, b"Hello, world!")  # serving while the watcher is held
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, caught up!"')
    go.touch()
    project.wait_for("/hello/", lambda status, body: body == b"Hello, caught up!")
    assert project.wait_for_reload(mark)["reason"] == "shop/views.py changed"


def test_a_template_edited_before_the_watcher_is_up_is_served(held: tuple[Reloading, Path]) -> None:
    project, go = held
    before = project.pid()
    status, page = project.get("/")  # the template is loaded (and cached) now
    assert status == 200
    assert b"<h1>devserver test project</h1>" in page
    template = project.root / "shop" / "templates" / "shop" / "index.html"
    edit(template, "<h1>devserver test project</h1>", "<h1>caught up</h1>")
    go.touch()
    project.wait_for("/", lambda status, body: b"<h1>caught up</h1>" in body)
    assert project.pid() == before  # a template change resets the loaders; no restart
