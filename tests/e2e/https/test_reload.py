"""HTTPS under the reloader: the crash page speaks TLS, a reload closes idle TLS connections
cleanly (they cannot move to the new process), and a project broken at launch under
``python -m devserver`` gets its certificate and its crash page over HTTPS."""

from __future__ import annotations

import http.client
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ...server import REPO, DevrunProcess, client_tls
from ..rawclient import RawClient, build_request
from ..test_reload import DEADLINE, Reloading, copy_project, edit

CRASHED = re.compile(
    r"^devserver: The server process exited with status 1\. "
    r"Requests to https://127\.0\.0\.1:(?P<port>\d+)/ get an error page until a file changes\.$"
)


def test_the_crash_page_speaks_tls(
    start_reloading: Callable[..., Reloading], backend_name: str, combined: Path
) -> None:
    project = start_reloading("--backend", backend_name, "--cert-file", str(combined))
    assert project.server.url.startswith("https://")
    original = project.views.read_text()
    project.views.write_text(original + "\nbroken = (\n")
    _, page = project.wait_for("/hello/", lambda status, body: status == 500)  # over TLS, certificate checked
    assert b"<pre>Traceback (most recent call last):" in page, project.server.output()
    assert b"SyntaxError" in page
    line = project.server.wait_for_line(lambda text: CRASHED.match(text) is not None, DEADLINE)
    assert f":{project.server.port}/" in line
    with RawClient(project.server.port) as plain:  # plain HTTP meanwhile: told where to go
        plain.request("GET", "/hello/")
        refused = plain.read_response()
    assert refused.status == 400
    assert f"Use https://127.0.0.1:{project.server.port}/hello/".encode() in refused.body
    mark = project.mark()
    project.views.write_text(original.replace('"Hello, world!"', '"Hello, fixed!"'))
    project.wait_for("/hello/", lambda status, body: (status, body) == (200, b"Hello, fixed!"))
    project.wait_for_reload(mark)


def test_a_reload_closes_idle_tls_connections_with_close_notify(
    start_reloading: Callable[..., Reloading], backend_name: str, combined: Path
) -> None:
    """TLS sessions cannot move to the new process: the old one says goodbye in TLS (a client
    tells that from a cut) as soon as the restart begins, and the next connection gets the new code."""
    project = start_reloading("--backend", backend_name, "--cert-file", str(combined))
    before = project.pid()
    context = client_tls(combined)
    raw = socket.create_connection(("127.0.0.1", project.server.port), timeout=DEADLINE)
    with context.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False) as idle:
        idle.sendall(build_request("GET", "/pid/"))
        assert idle.recv(65536).endswith(str(before).encode())  # one response, then idle
        mark = project.mark()
        edit(project.views, '"Hello, world!"', '"Hello, reloaded!"')
        assert idle.recv(65536) == b""  # close_notify: SSLEOFError here would mean a cut
        closed_at = time.monotonic()
    project.wait_for_reload(mark)
    assert project.wait_for("/hello/", lambda status, body: body == b"Hello, reloaded!")[0] == 200
    assert project.pid() != before
    assert time.monotonic() - closed_at < DEADLINE


def test_a_busy_tls_client_across_a_reload_gets_every_answer_on_new_connections(
    start_reloading: Callable[..., Reloading], combined: Path
) -> None:
    """Requests on fresh connections never fail across a reload over TLS either (the listening
    socket never refuses; a handshake made while no child serves waits in the backlog)."""
    project = start_reloading("--cert-file", str(combined))
    failures: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                answers.append(project.get("/hello/", timeout=10)[0])
            except (OSError, http.client.HTTPException) as error:
                failures.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        mark = project.mark()
        edit(project.views, '"Hello, world!"', '"Hello, again!"')
        project.wait_for("/hello/", lambda status, body: body == b"Hello, again!")
        project.wait_for_reload(mark)
    finally:
        stop.set()
        poller.join(DEADLINE)
    assert failures == []
    assert set(answers) == {200}


def test_python_m_devserver_creates_the_certificate_and_serves_the_crash_page_over_tls(
    project_env: dict[str, str], tmp_path: Path
) -> None:
    """Broken at launch: no child ever reads the settings or makes the certificate, so the
    launcher does, and its error page speaks HTTPS with it."""
    root = copy_project(tmp_path / "project")
    models = root / "shop" / "models.py"
    original = models.read_text()
    models.write_text(original + "\nbroken = (\n")
    command = [sys.executable, "-u", "-m", "devserver"]
    exclude = ["--reload-exclude", str(REPO / "devserver")]
    server = DevrunProcess(["127.0.0.1:0", "--cert-file", "dev.pem", *exclude], project_env, cwd=root, command=command)
    try:
        line = server.wait_for_line(lambda text: CRASHED.match(text) is not None, DEADLINE)
        match = CRASHED.match(line)
        assert match is not None
        server.host, server.port = "127.0.0.1", int(match["port"])
        assert "Created a self-signed certificate" in server.output()
        assert (root / "dev.pem").exists()
        project = Reloading(root, server)
        status, page = project.wait_for("/hello/", lambda status, body: status != 0)
        assert status == 500
        assert b"SyntaxError: &#x27;(&#x27; was never closed" in page
        models.write_text(original)
        project.wait_for("/hello/", lambda status, body: (status, body) == (200, b"Hello, world!"))
        banner = server.wait_for_line(lambda text: "development server at https://" in text, DEADLINE)
        assert banner.endswith(f"https://127.0.0.1:{server.port}/")
    finally:
        assert server.stop() == 0


def test_the_crash_page_ends_with_close_notify(start_reloading: Callable[..., Reloading], combined: Path) -> None:
    project = start_reloading("--cert-file", str(combined))
    project.views.write_text(project.views.read_text() + "\nbroken = (\n")
    project.wait_for("/hello/", lambda status, body: status == 500)
    raw = socket.create_connection(("127.0.0.1", project.server.port), timeout=DEADLINE)
    with client_tls(combined).wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False) as sock:
        sock.sendall(build_request("GET", "/hello/"))
        page = b""
        while chunk := sock.recv(65536):  # SSLEOFError here would mean the page was cut
            page += chunk
    assert page.startswith(b"HTTP/1.1 500 ")
    assert page.endswith(b"</html>\n")
