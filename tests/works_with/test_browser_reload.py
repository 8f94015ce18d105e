"""django-browser-reload under devrun: its event stream, its template and static reloads without
a restart, a Python edit that restarts and cuts the stream at once, and Ctrl-C with a stream open.

https://github.com/adamchainz/django-browser-reload
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from ..server import DevrunProcess
from .project import DEADLINE, Variant, edit, event_stream, get

pytest.importorskip("django_browser_reload")

SETTINGS = """\
INSTALLED_APPS = [*INSTALLED_APPS, "django_browser_reload"]
MIDDLEWARE = [*MIDDLEWARE, "django_browser_reload.middleware.BrowserReloadMiddleware"]
"""
URLS = """\
import time
from pathlib import Path

from django.urls import include, path
from django.utils.autoreload import file_changed

urlpatterns.append(path("__reload__/", include("django_browser_reload.urls")))


def announce(*, file_path: Path, **kwargs: object) -> None:
    \"\"\"The child heard of a change: the moment a restart starts, on the system's monotonic clock.\"\"\"
    print(f"probe: file_changed {file_path.name} at {time.monotonic():.6f}", flush=True)


file_changed.connect(announce, dispatch_uid="works_with_probe")
"""
#: The issue's bounds: once a restart starts, the old child cuts the stream within this long...
STREAM_CUT_WITHIN = 0.5
#: ...and Ctrl-C with a stream open exits 0 within this long.
CTRL_C_EXITS_WITHIN = 1.0


def browser_reload_project(make_variant: Callable[..., Variant]) -> Variant:
    return make_variant("browser_reload", SETTINGS, URLS)


def served_by(server: DevrunProcess) -> int:
    response = get(server, "/pid/")
    assert response.status == 200
    return int(response.body)


def restarts(server: DevrunProcess, start: int) -> list[str]:
    return [line for line in server.lines[start:] if ", reloaded in " in line]


def test_the_page_gets_the_reload_script(make_variant: Callable[..., Variant]) -> None:
    server = browser_reload_project(make_variant).devrun()
    page = get(server, "/")
    assert page.status == 200
    assert b'data-worker-script-path="/static/django-browser-reload/reload-worker.js"' in page.body
    assert b'data-events-path="/__reload__/events/"' in page.body
    assert get(server, "/static/django-browser-reload/reload-worker.js").status == 200


@pytest.mark.parametrize(
    ("changed", "old", "new"),
    [
        pytest.param("shop/templates/shop/index.html", "<h1>devserver test project</h1>", "<h1>edited</h1>", id="html"),
        pytest.param("shop/static/shop/site.css", "body {", "body { color: teal;", id="css"),
    ],
)
def test_a_template_or_css_edit_sends_the_reload_event_without_a_restart(
    make_variant: Callable[..., Variant], changed: str, old: str, new: str
) -> None:
    project = browser_reload_project(make_variant)
    server = project.devrun(reload=True)
    child, mark = served_by(server), len(server.lines)
    with event_stream(server) as stream:
        stream.wait_for("ping")
        edit(project.root / changed, old, new)
        stream.wait_for("reload")
    assert served_by(server) == child
    assert restarts(server, mark) == []


def test_a_python_edit_restarts_cuts_the_stream_at_once_and_the_browser_reconnects_to_the_new_child(
    make_variant: Callable[..., Variant],
) -> None:
    project = browser_reload_project(make_variant)
    server = project.devrun(reload=True)
    old_child, mark = served_by(server), len(server.lines)
    with event_stream(server) as stream:
        old_version = stream.wait_for("ping")["versionId"]
        stream.drain_in_background()
        edit(project.root / "shop" / "views.py", '"Hello, world!"', '"Hello, restarted!"')
        probe = server.wait_for_line(lambda line: line.startswith("probe: file_changed views.py"), DEADLINE, mark)
        restart_started = float(probe.rsplit(" ", 1)[1])
        cut_after = stream.wait_closed() - restart_started
    assert cut_after < STREAM_CUT_WITHIN, f"the event stream stayed open {cut_after:.2f}s into the restart"
    with event_stream(server) as reconnected:  # what the page's worker does at once
        new_version = reconnected.wait_for("ping")["versionId"]
    assert new_version != old_version  # the worker reloads the page on a new version
    assert get(server, "/hello/").body == b"Hello, restarted!"
    assert served_by(server) != old_child
    assert len(restarts(server, mark)) == 1


@pytest.mark.parametrize("reload", [True, False], ids=["reloader", "noreload"])
def test_ctrl_c_with_an_event_stream_open_exits_0_at_once(make_variant: Callable[..., Variant], reload: bool) -> None:
    server = browser_reload_project(make_variant).devrun(reload=reload, new_session=True)
    with event_stream(server) as stream:
        stream.wait_for("ping")
        stream.drain_in_background()
        pressed = time.monotonic()
        os.killpg(server.pid, signal.SIGINT)  # a terminal signals the whole foreground group
        status = server.wait(DEADLINE)
        took = time.monotonic() - pressed
        stream.wait_closed()
    assert status == 0, server.output()
    assert took < CTRL_C_EXITS_WITHIN, f"exit took {took:.2f}s"
    assert "Traceback" not in server.output()
