"""--debugger on the real server: Werkzeug's traceback page for /error/, its console locked by
the PIN printed in the console, the loopback rule, a missing Werkzeug, and the PIN across reloads.
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ..conftest import ServerFactory
from ..server import REPO, DevrunProcess, run_devrun
from .test_command import assert_one_line_error
from .test_reload import copy_project, edit

PIN_LINE = re.compile(r"^Debugger PIN: (\d{3}-\d{3}-\d{3}) ")
HIDDEN_PACKAGES = REPO / "tests" / "hidden"


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    body: str


def request(server: DevrunProcess, path: str, cookie: str = "") -> Page:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return Page(response.status, response.msg, response.read().decode())
    finally:
        connection.close()


@dataclass
class Traceback:
    """What the debugger page gives a browser: the secret its console requests carry, and the frames."""

    secret: str
    frames: list[str]

    @classmethod
    def of(cls, page: Page) -> Traceback:
        secret = re.search(r'SECRET = "(\w+)"', page.body)
        assert secret is not None, page.body[:2000]
        return cls(secret.group(1), re.findall(r'<div class="frame" id="frame-(\d+)">', page.body))

    def command(self, code: str, frame: str) -> str:
        return "/?" + urlencode({"__debugger__": "yes", "cmd": code, "frm": frame, "s": self.secret})

    def pin_auth(self, pin: str) -> str:
        return "/?" + urlencode({"__debugger__": "yes", "cmd": "pinauth", "pin": pin, "s": self.secret})


def pin_of(server: DevrunProcess, start: int = 0) -> str:
    match = PIN_LINE.match(server.wait_for_line(lambda line: PIN_LINE.match(line) is not None, start=start))
    assert match is not None
    return match.group(1)


@pytest.fixture(scope="module", params=["threaded", "single"])
def debugging(request: pytest.FixtureRequest, start_server: ServerFactory) -> DevrunProcess:
    return start_server("--debugger", "--backend", request.param)


def test_an_unhandled_exception_shows_the_interactive_traceback(debugging: DevrunProcess) -> None:
    page = request(debugging, "/error/")
    assert page.status == 500
    assert page.headers.get_content_type() == "text/html"
    assert "RuntimeError: boom from testproject" in page.body
    assert "shop/views.py" in page.body
    assert len(Traceback.of(page).frames) >= 2


def test_the_console_runs_code_in_the_view_s_frame_only_with_the_pin(debugging: DevrunProcess) -> None:
    pin = pin_of(debugging)
    traceback = Traceback.of(request(debugging, "/error/"))
    view_frame = traceback.frames[-1]  # innermost: the view that raised
    code = "request.path.upper()"

    locked = request(debugging, traceback.command(code, view_frame))
    assert "/ERROR/" not in locked.body  # not evaluated

    wrong = request(debugging, traceback.pin_auth("000-000-000"))
    assert json.loads(wrong.body) == {"auth": False, "exhausted": False}

    right = request(debugging, traceback.pin_auth(pin))
    assert json.loads(right.body) == {"auth": True, "exhausted": False}
    cookie = right.headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in right.headers["Set-Cookie"]

    unlocked = request(debugging, traceback.command(code, view_frame), cookie=cookie)
    assert unlocked.status == 200
    assert "&#39;/ERROR/&#39;" in unlocked.body  # the repr of the value, computed in the view's frame


def test_pages_without_an_exception_are_served_as_usual(debugging: DevrunProcess) -> None:
    page = request(debugging, "/hello/")
    assert (page.status, page.body) == (200, "Hello, world!")
    assert request(debugging, "/no-such-page/").status == 404


def test_the_traceback_is_logged_once(debugging: DevrunProcess) -> None:
    start = len(debugging.lines)
    request(debugging, "/error/")
    debugging.wait_for_line(lambda line: '"GET /error/ HTTP/1.1" 500' in line, 10, start=start)
    raised = [line for line in debugging.lines[start:] if line == "RuntimeError: boom from testproject"]
    assert len(raised) == 1


def test_a_public_address_is_refused(project_env: dict[str, str]) -> None:
    result = run_devrun(["0.0.0.0:0", "--noreload", "--debugger"], project_env)
    assert_one_line_error(result, 2, "--debugger", "'0.0.0.0' is not a loopback address", "--debugger-allow-remote")


def test_allow_remote_needs_the_debugger(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--debugger-allow-remote"], project_env)
    assert_one_line_error(result, 2, "--debugger-allow-remote only makes sense with --debugger")


def test_without_werkzeug_the_error_names_the_extra(project_env: dict[str, str]) -> None:
    env = {**project_env, "PYTHONPATH": str(HIDDEN_PACKAGES), "DEVSERVER_TEST_HIDDEN": "werkzeug"}
    result = run_devrun(["127.0.0.1:0", "--noreload", "--debugger"], env)
    assert_one_line_error(result, 2, "--debugger needs Werkzeug", "pip install 'django-devrun[debugger]'")


def test_the_pin_stays_the_same_across_reloads(project_env: dict[str, str], tmp_path: Path) -> None:
    root = copy_project(tmp_path / "project")
    exclude = ["--reload-exclude", str(REPO / "devserver")]
    server = DevrunProcess(["127.0.0.1:0", "--debugger", *exclude], project_env, cwd=root, manage=root / "manage.py")
    try:
        server.wait_ready()
        first = pin_of(server)
        start = len(server.lines)
        edit(root / "shop" / "views.py", "boom from testproject", "boom after a reload")
        server.wait_for_line(lambda line: "reloaded in" in line, 30, start=start)
        assert pin_of(server, start) == first
        page = request(server, "/error/")
        assert "boom after a reload" in page.body
    finally:
        server.stop()
