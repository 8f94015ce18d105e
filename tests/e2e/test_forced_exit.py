"""A forced exit (a second Ctrl-C or SIGTERM) is exit status 1 with or without the reloader,
and the ready file is gone: a CI script must never see a server that was cut short as a
clean stop, nor a ready file for a server that is gone."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..server import REPO, DevrunProcess
from .test_reload import DEADLINE, copy_project
from .test_shutdown import start_request, wait_for_log

#: How each way in is started (run where manage.py is), its extra environment, and the second
#: signal (each way gets one; the first is always SIGTERM).
WAYS: dict[str, tuple[list[str], dict[str, str], signal.Signals]] = {
    "devrun --noreload": ([sys.executable, "-u", "manage.py", "devrun", "--noreload"], {}, signal.SIGINT),
    "devrun": ([sys.executable, "-u", "manage.py", "devrun"], {}, signal.SIGTERM),
    "devrun, in-process supervisor": (
        [sys.executable, "-u", "manage.py", "devrun"],
        {"DEVSERVER_NO_HANDOVER": "1"},
        signal.SIGINT,
    ),
    "python -m devserver": ([sys.executable, "-u", "-m", "devserver"], {}, signal.SIGTERM),
}


@pytest.fixture
def started() -> Iterator[list[DevrunProcess]]:
    servers: list[DevrunProcess] = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            server.stop()


@pytest.mark.parametrize("way", sorted(WAYS))
def test_a_second_signal_exits_1_without_the_ready_file(
    project_env: dict[str, str], tmp_path: Path, started: list[DevrunProcess], way: str
) -> None:
    root = copy_project(tmp_path / "project")
    ready_file = tmp_path / "ready.json"
    command, extra, second = WAYS[way]
    args = ["127.0.0.1:0", "--shutdown-timeout", "60", "--ready-file", str(ready_file)]
    args += ["--reload-exclude", str(REPO / "devserver")]
    server = DevrunProcess(args, {**project_env, **extra}, cwd=root, command=command)
    started.append(server)
    server.wait_ready(DEADLINE)
    wait_for_log(server, "devserver: ready", DEADLINE)
    assert ready_file.exists()
    request, _ = start_request(server, "/slow/?seconds=30")
    wait_for_log(server, "slow view: sleeping", DEADLINE)
    server.signal(signal.SIGTERM)
    wait_for_log(server, "Shutting down", DEADLINE)  # draining: the slow request holds it
    forced = time.monotonic()
    server.signal(second)
    assert server.wait(DEADLINE) == 1, server.output()
    assert time.monotonic() - forced < 10  # at once, not after the 60 s drain
    assert "Forced exit" in server.output()
    assert not ready_file.exists(), "a forced exit left the ready file behind"
    request.join(DEADLINE)
