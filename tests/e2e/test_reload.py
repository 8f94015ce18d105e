"""The reloader end to end: real edits in a copy of the test project, real clients.

Every wait is on a condition with a deadline (an output line, a response); the clock is
only read to assert generous bounds.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import select
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX

from ..server import REPO, URL_LINE, DevrunProcess, backend_env, fetch

DEADLINE = 30.0
RELOADED = re.compile(r"^(?P<reason>.+ changed(?: \(and (?P<more>\d+) more\))?), reloaded in (?P<ms>\d+) ms$")
PID_VIEW = '''
import os

from django.http import HttpRequest, HttpResponse


def pid(request: HttpRequest) -> HttpResponse:
    """Which process answered: tells a restart from a template reload."""
    return HttpResponse(str(os.getpid()), content_type="text/plain")
'''


def copy_project(destination: Path) -> Path:
    shutil.copytree(
        REPO / "testproject",
        destination,
        ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3", "media", "staticfiles"),
    )
    (destination / "shop" / "pid_view.py").write_text(PID_VIEW)
    with (destination / "shop" / "urls.py").open("a") as urls:
        urls.write('\nfrom . import pid_view  # noqa: E402\n\nurlpatterns.append(path("pid/", pid_view.pid))\n')
    return destination


@dataclass
class Reloading:
    """A ``devrun`` with the reloader on, serving a copy of the test project."""

    root: Path
    server: DevrunProcess
    failures: list[BaseException] = field(default_factory=list)

    @property
    def views(self) -> Path:
        return self.root / "shop" / "views.py"

    def get(self, path: str, timeout: float = DEADLINE) -> tuple[int, bytes]:
        return fetch(self.server.host, self.server.port, path, timeout, tls=self.server.tls)

    def pid(self) -> int:
        status, body = self.get("/pid/")
        assert status == 200
        return int(body)

    def wait_for(self, path: str, accept: Callable[[int, bytes], bool]) -> tuple[int, bytes]:
        """Request ``path`` until a response is accepted. A failed request is kept in
        ``failures`` (only the test about failures asserts on them) and tried again."""
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                status, body = self.get(path)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(error)
                status, body = 0, b""
            if accept(status, body):
                return status, body
            assert time.monotonic() < deadline, f"last answer: {status} {body[:300]!r}; failures: {self.failures}"

    def mark(self) -> int:
        """An index into the output, to look only at lines printed after it."""
        return len(self.server.lines)

    def reload_lines(self, start: int = 0) -> list[re.Match[str]]:
        return [match for line in self.server.lines[start:] if (match := RELOADED.match(line))]

    def wait_for_reload(self, start: int) -> re.Match[str]:
        line = self.server.wait_for_line(lambda text: RELOADED.match(text) is not None, DEADLINE, start=start)
        match = RELOADED.match(line)
        assert match is not None
        return match


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def start_reloading(project_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Reloading]]:
    """Start ``devrun`` (reloader on) in a fresh copy of the project; stopped by PID at the end."""
    started: list[DevrunProcess] = []

    def start(
        *args: str,
        before: Callable[[Path], None] | None = None,
        new_session: bool = False,
        env: dict[str, str] | None = None,
    ) -> Reloading:
        root = copy_project(tmp_path / f"project{len(started)}")
        if before is not None:
            before(root)
        # Other people edit this checkout's devserver/ while the suite runs: not our reloads.
        exclude = ["--reload-exclude", str(REPO / "devserver")]
        full_env = {**project_env, **backend_env(args), **(env or {})}
        server = DevrunProcess(
            ["127.0.0.1:0", *exclude, *args],
            full_env,
            cwd=root,
            manage=root / "manage.py",
            new_session=new_session,
        )
        started.append(server)
        server.wait_ready(DEADLINE)
        server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX), DEADLINE)  # watching by then
        return Reloading(root, server)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def has_exited(pid: int) -> bool:
    """Gone, or a zombie: exited, and waiting for a parent that may never reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def test_an_edit_is_served_by_a_new_child_on_the_same_port(
    start_reloading: Callable[..., Reloading], backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    port, before = project.server.port, project.pid()
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, reloaded!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, reloaded!")
    reload = project.wait_for_reload(mark)
    assert reload["reason"] == "shop/views.py changed"
    assert int(reload["ms"]) < 10_000
    assert project.pid() != before
    banners = [match[1] for line in project.server.lines[mark:] if (match := URL_LINE.search(line))]
    assert banners == [f"http://127.0.0.1:{port}/"]  # one banner (its words name the interface on Django 6.1)


def test_a_template_edit_is_served_without_a_restart(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading()
    before, mark = project.pid(), project.mark()
    template = project.root / "shop" / "templates" / "shop" / "index.html"
    edit(template, "<h1>devserver test project</h1>", "<h1>edited template</h1>")
    project.wait_for("/", lambda status, body: status == 200 and b"<h1>edited template</h1>" in body)
    assert project.pid() == before
    assert project.reload_lines(mark) == []


def test_an_explicitly_included_template_restarts_the_server(start_reloading: Callable[..., Reloading]) -> None:
    """``--reload-include`` wins over Django's template reset: the user asked for restarts."""
    project = start_reloading("--reload-include", "*.html")
    before, mark = project.pid(), project.mark()
    template = project.root / "shop" / "templates" / "shop" / "index.html"
    edit(template, "<h1>devserver test project</h1>", "<h1>edited, restarted</h1>")
    project.wait_for("/", lambda status, body: status == 200 and b"<h1>edited, restarted</h1>" in body)
    assert project.wait_for_reload(mark)["reason"] == "shop/templates/shop/index.html changed"
    assert project.pid() != before


def test_a_template_the_include_does_not_name_is_reloaded_in_place(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading("--reload-include", "emails/*.html")
    before, mark = project.pid(), project.mark()
    template = project.root / "shop" / "templates" / "shop" / "index.html"
    edit(template, "<h1>devserver test project</h1>", "<h1>edited in place</h1>")
    project.wait_for("/", lambda status, body: status == 200 and b"<h1>edited in place</h1>" in body)
    assert project.pid() == before
    assert project.reload_lines(mark) == []


@pytest.mark.parametrize("module", ["models.py", "views.py"])
def test_a_syntax_error_shows_the_error_page_until_it_is_fixed(
    start_reloading: Callable[..., Reloading], module: str
) -> None:
    project = start_reloading()
    broken = project.root / "shop" / module
    original = broken.read_text()
    broken.write_text(original + "\nbroken = (\n")
    _, page = project.wait_for("/hello/", lambda status, body: status == 500)
    assert b"SyntaxError" in page
    assert f"shop/{module}".encode() in page
    assert b"<pre>Traceback (most recent call last):" in page
    project.server.wait_for_line(lambda line: "The server process exited with status 1" in line, DEADLINE)
    mark = project.mark()
    broken.write_text(original.replace('"Hello, world!"', '"Hello, fixed!"'))
    project.wait_for(
        "/hello/",
        lambda status, body: (status, body) == (200, b"Hello, fixed!" if module == "views.py" else b"Hello, world!"),
    )
    assert project.wait_for_reload(mark)["reason"] == f"shop/{module} changed"


def test_no_request_fails_while_a_client_polls_across_reloads(
    start_reloading: Callable[..., Reloading], backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name)
    answers: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                answers.append(project.get("/hello/", timeout=10))
            except (OSError, http.client.HTTPException) as error:
                failures.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        port = project.server.port
        text = "Hello, world!"
        for number in range(3):
            new = f"Hello, edit {number}!"
            mark = project.mark()
            edit(project.views, f'"{text}"', f'"{new}"')
            expected = new.encode()
            project.wait_for("/hello/", lambda status, body: body == expected)  # noqa: B023 (used at once)
            project.wait_for_reload(mark)  # stdout may reach us after the response
            text = new
        assert len(project.reload_lines()) == 3
    finally:
        stop.set()
        poller.join(DEADLINE)
    assert failures == []
    assert project.failures == []
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) >= 2  # the poller's requests spanned a reload at least
    assert project.server.port == port


def test_a_burst_of_writes_restarts_once(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading()
    mark = project.mark()
    for number in range(50):
        (project.root / "shop" / f"generated_{number:02}.py").write_text(f"NUMBER = {number}\n")
    first = project.wait_for_reload(mark)
    assert first["more"] == "49"
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, after the burst!"')
    assert project.wait_for_reload(mark)["reason"] == "shop/views.py changed"
    assert len(project.reload_lines()) == 2


def test_virtualenvs_node_modules_and_site_packages_are_ignored(start_reloading: Callable[..., Reloading]) -> None:
    def environments(root: Path) -> None:
        (root / "env" / "lib").mkdir(parents=True)
        (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (root / "node_modules" / "pkg").mkdir(parents=True)

    project = start_reloading(before=environments)
    mark = project.mark()
    ignored = [
        project.root / "env" / "lib" / "module.py",
        project.root / "node_modules" / "pkg" / "build.py",
        project.root / ".venv" / "lib" / "python3.11" / "site-packages" / "package.py",
        project.root / "vendor" / "site-packages" / "package.py",
        project.root / "shop" / "__pycache__" / "views.cpython-311.py",
        project.root / "shop" / ".views.py.swp",
    ]
    for path in ignored:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    edit(project.views, '"Hello, world!"', '"Hello, only me!"')
    reload = project.wait_for_reload(mark)
    assert reload["reason"] == "shop/views.py changed"  # alone: nothing above made it into the batch
    project.wait_for("/hello/", lambda status, body: body == b"Hello, only me!")
    assert len(project.reload_lines(mark)) == 1


def test_include_and_exclude_patterns(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading("--reload-include", "*.cfg", "--reload-exclude", "shop/forms.py")
    mark = project.mark()
    (project.root / "shop" / "feature.cfg").write_text("enabled = yes\n")
    assert project.wait_for_reload(mark)["reason"] == "shop/feature.cfg changed"
    mark = project.mark()
    forms = project.root / "shop" / "forms.py"
    forms.write_text(forms.read_text() + "\n# excluded\n")
    edit(project.views, '"Hello, world!"', '"Hello, again!"')
    assert project.wait_for_reload(mark)["reason"] == "shop/views.py changed"


def test_polling_when_asked(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading("--reload-poll")
    project.server.wait_for_line(lambda line: "Watching for file changes with WatchdogReloader (polling)" in line)
    edit(project.views, '"Hello, world!"', '"Hello, polled!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, polled!")


def test_a_restart_serves_new_requests_while_an_endless_stream_is_cut_at_once(
    start_reloading: Callable[..., Reloading], backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name, "--shutdown-timeout", "30")
    with socket.create_connection((project.server.host, project.server.port), timeout=DEADLINE) as stream:
        stream.sendall(b"GET /events/?interval=0.05 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"200 OK" in stream.recv(65536)
        ended = threading.Event()

        def read_to_the_end() -> None:
            with contextlib.suppress(OSError):
                while stream.recv(65536):
                    pass
            ended.set()

        reader = threading.Thread(target=read_to_the_end)
        reader.start()
        mark = project.mark()
        edited = time.monotonic()
        edit(project.views, '"Hello, world!"', '"Hello, while streaming!"')
        assert ended.wait(10), "the stream was not cut (the drain deadline is 30 s)"
        cut = time.monotonic() - edited
        project.wait_for("/hello/", lambda status, body: body == b"Hello, while streaming!")
        served_new_code = time.monotonic() - edited
        reader.join(DEADLINE)
    assert cut < 10  # measured: ~0.1 s after the restart begins, with the watcher's debounce before it
    assert served_new_code < 10  # the new child did not wait for the old one to drain
    cut_line = '"GET /events/?interval=0.05 HTTP/1.1" 200 (cut) '
    project.server.wait_for_line(lambda line: cut_line in line, DEADLINE, start=mark)


def test_a_slow_view_keeps_its_grace_on_a_reload(start_reloading: Callable[..., Reloading], backend_name: str) -> None:
    project = start_reloading("--backend", backend_name, "--shutdown-timeout", "30")
    result: list[tuple[int, bytes]] = []
    mark = project.mark()
    slow = threading.Thread(target=lambda: result.append(project.get("/slow/?seconds=2")))
    slow.start()
    project.server.wait_for_line(lambda line: "slow view: sleeping" in line, DEADLINE, start=mark)
    edit(project.views, '"Hello, world!"', '"Hello, while sleeping!"')
    project.wait_for("/hello/", lambda status, body: body == b"Hello, while sleeping!")
    slow.join(DEADLINE)
    assert result == [(200, b"slept 2.0")]
    assert not any("(cut)" in line for line in project.server.lines[mark:])


def test_ctrl_c_with_an_open_stream_stops_everything_at_once(
    start_reloading: Callable[..., Reloading], backend_name: str
) -> None:
    project = start_reloading("--backend", backend_name, "--shutdown-timeout", "30", new_session=True)
    with socket.create_connection((project.server.host, project.server.port), timeout=DEADLINE) as stream:
        stream.sendall(b"GET /events/?interval=0.5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"200 OK" in stream.recv(65536)
        started = time.monotonic()
        os.killpg(project.server.pid, signal.SIGINT)  # as a terminal does
        assert project.server.wait(DEADLINE) == 0
        elapsed = time.monotonic() - started
    assert elapsed < 5, f"{elapsed:.1f}s to stop with an event stream open (the deadline is 30 s)"
    assert '"GET /events/?interval=0.5 HTTP/1.1" 200 (cut) ' in project.server.output()


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_everything_with_status_0(start_reloading: Callable[..., Reloading], signum: int) -> None:
    project = start_reloading()
    project.pid()
    children = children_of(project.server.pid)
    assert children
    project.server.signal(signum)
    assert project.server.wait(DEADLINE) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)  # reaped, not zombies


def test_ctrl_c_at_a_terminal_stops_everything_once(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading(new_session=True)
    mark = project.mark()
    edit(project.views, '"Hello, world!"', '"Hello, before Ctrl-C!"')
    project.wait_for_reload(mark)  # a supervisor, a child that restarted once, and a warm spare
    os.killpg(project.server.pid, signal.SIGINT)  # a terminal signals the whole foreground group
    assert project.server.wait(DEADLINE) == 0
    output = project.server.output()
    assert output.count("Shutting down") == 1  # relayed once, not received twice
    assert "Traceback" not in output
    assert "Forced exit" not in output


@needs_proc
@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on pidfds")
def test_a_killed_supervisor_leaves_no_orphan(start_reloading: Callable[..., Reloading]) -> None:
    project = start_reloading()
    child = project.pid()
    children = children_of(project.server.pid)
    assert child in children
    pidfds = [os.pidfd_open(pid) for pid in children]  # readable once the process has exited
    try:
        project.server.signal(signal.SIGKILL)
        project.server.wait(DEADLINE)
        killed = time.monotonic()
        for pidfd in pidfds:
            remaining = 2 - (time.monotonic() - killed)
            assert select.select([pidfd], [], [], max(remaining, 0))[0], "a child outlived its supervisor by 2 s"
    finally:
        for pidfd in pidfds:
            os.close(pidfd)
    assert all(has_exited(pid) for pid in children)
