"""Variants of the test project for the works-with suite: a copy of testproject/ with a settings
module and a URLconf of its own per neighbour, served by the real ``devrun``."""

from __future__ import annotations

import http.client
import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devserver.readiness import READY_LINE_PREFIX

from ..server import REPO, DevrunProcess

DEADLINE = 30.0


def write_variant(root: Path, name: str, settings: str, urls: str = "") -> str:
    """``testproject/settings_<name>.py`` (and ``urls_<name>.py``) in the copy at ``root``;
    returns the settings module. ``settings`` runs after ``from testproject.settings import *``."""
    package = root / "testproject"
    header = "from testproject.settings import *  # noqa: F403\n\n"
    body = textwrap.dedent(settings)
    if urls:
        (package / f"urls_{name}.py").write_text("from testproject.urls import urlpatterns\n\n" + textwrap.dedent(urls))
        body += f'\nROOT_URLCONF = "testproject.urls_{name}"\n'
    (package / f"settings_{name}.py").write_text(header + body)
    return f"testproject.settings_{name}"


@dataclass
class Variant:
    """A project copy and the servers started in it (each stopped by its PID)."""

    root: Path
    settings: str
    env: dict[str, str]
    servers: list[DevrunProcess] = field(default_factory=list)

    def devrun(self, *args: str, reload: bool = False, new_session: bool = False) -> DevrunProcess:
        """``devrun 127.0.0.1:0`` in the copy; with ``reload``, the reloader watches it."""
        options = ["--reload-exclude", str(REPO / "devserver")] if reload else ["--noreload"]
        server = DevrunProcess(
            ["127.0.0.1:0", *options, *args],
            {**self.env, "DJANGO_SETTINGS_MODULE": self.settings},
            cwd=self.root,
            manage=self.root / "manage.py",
            new_session=new_session,
        )
        self.servers.append(server)
        server.wait_ready(DEADLINE)
        server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX), DEADLINE)
        return server

    def runserver(self, *args: str) -> DevrunProcess:
        """Django's own ``runserver --noreload`` on the same project, to compare with."""
        server = DevrunProcess(
            ["127.0.0.1:0", "--noreload", *args],
            {**self.env, "DJANGO_SETTINGS_MODULE": self.settings},
            cwd=self.root,
            manage=self.root / "manage.py",
            subcommand="runserver",
        )
        self.servers.append(server)
        return server.wait_ready(DEADLINE)

    def stop_all(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.stop()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def get(server: DevrunProcess, path: str, headers: dict[str, str] | None = None, timeout: float = DEADLINE) -> Response:
    """GET ``path`` on a new connection; header names lower-cased."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


class EventStream:
    """A client of django-browser-reload's ``/__reload__/events/``: server-sent events, one JSON
    ``data:`` line each, read off a raw socket so the test sees exactly when the server cuts it."""

    def __init__(self, server: DevrunProcess, path: str = "/__reload__/events/") -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        self.sock.sendall(request.encode())
        self.buffer = b""
        self.closed_at: float | None = None
        self._closed = threading.Event()
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert b"text/event-stream" in head.lower()

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                self.closed_at = time.monotonic()
                raise EOFError(f"stream closed; received {self.buffer[-500:]!r}")
            self.buffer += data
        item, _, self.buffer = self.buffer.partition(marker)
        return item

    def next_event(self) -> dict[str, object]:
        """The next event's JSON; the chunked framing's size lines are skipped."""
        while True:
            block = self._read_until(b"\n\n")
            for line in block.split(b"\n"):
                if line.startswith(b"data: "):
                    event: dict[str, object] = json.loads(line[len(b"data: ") :])
                    return event

    def wait_for(self, kind: str) -> dict[str, object]:
        """The next event of type ``kind`` (pings every second keep the socket's timeout from firing)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            event = self.next_event()
            if event["type"] == kind:
                return event
        raise AssertionError(f"no {kind!r} event within {DEADLINE}s")

    def drain_in_background(self) -> None:
        """From now on a thread reads (and drops) everything, noting the moment the server closes."""

        def drain() -> None:
            try:
                while self.sock.recv(65536):
                    pass
            except OSError:
                pass
            self.closed_at = time.monotonic()
            self._closed.set()

        threading.Thread(target=drain, daemon=True).start()

    def wait_closed(self, timeout: float = DEADLINE) -> float:
        """When (``time.monotonic()``) the server closed the stream; needs :meth:`drain_in_background`."""
        assert self._closed.wait(timeout), f"the event stream was not closed within {timeout}s"
        assert self.closed_at is not None
        return self.closed_at

    def close(self) -> None:
        self.sock.close()


@contextmanager
def event_stream(server: DevrunProcess) -> Iterator[EventStream]:
    stream = EventStream(server)
    try:
        yield stream
    finally:
        stream.close()
