"""The set-up spare as a real process: it pauses at the end of ``django.setup()``, keeps its
output until it is used, and declines when what it loaded changed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devserver.reload.handoff import CONTROL_FD_ENV, SPAWNED_AT_ENV, decode_messages
from devserver.reload.inventory import CLOCK_SLACK
from devserver.reload.preload import stale_environment
from devserver.reload.process import spare_arguments
from devserver.reload.spare import SETUP_STAGE

PROGRAM = """
import json, os, sys
print("printed before set-up", flush=True)
import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["spare_probe_app"])
django.setup()
print(json.dumps({
    "argv": sys.argv, "reason": os.environ.get("DEVSERVER_RELOAD_REASON"), "ready": __import__("spare_probe_app").READY,
}), flush=True)
sys.exit(7)
"""
PROBE_APP = "READY = 'imported at set-up'\n"


@dataclass
class Spare:
    process: subprocess.Popen[str]
    supervisor: socket.socket
    program: list[str]
    environ: dict[str, str]

    def message(self) -> dict[str, object]:
        received = b""
        while not received.endswith(b"\n"):
            chunk = self.supervisor.recv(65536)
            assert chunk, "the spare closed its control socket"
            received += chunk
        return next(decode_messages(received))

    def order(self, changed: list[str] | None = None, **env: str) -> None:
        orders = {
            "argv": [sys.executable, *self.program],
            "program": self.program,
            "env": {**self.environ, **env},
            "changed": changed or [],
        }
        self.supervisor.sendall(json.dumps(orders).encode() + b"\n")


@pytest.fixture
def spare(tmp_path: Path) -> Iterator[Spare]:
    (tmp_path / "manage.py").write_text(PROGRAM)
    (tmp_path / "spare_probe_app.py").write_text(PROBE_APP)
    program = [str(tmp_path / "manage.py"), "devrun", "8000"]
    supervisor, spare_end = socket.socketpair()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        CONTROL_FD_ENV: str(spare_end.fileno()),
        SPAWNED_AT_ENV: repr(time.time() + 2 * CLOCK_SLACK),  # as if spawned after the files were written
    }
    process = subprocess.Popen(
        spare_arguments(SETUP_STAGE, program),
        cwd=tmp_path,
        env=env,
        pass_fds=(spare_end.fileno(),),
        stdout=subprocess.PIPE,
        text=True,
    )
    spare_end.close()
    with supervisor:
        yield Spare(process, supervisor, program, env)
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)


def test_it_pauses_set_up_then_runs_on_as_the_child_with_its_output(spare: Spare) -> None:
    warm = spare.message()
    assert warm["event"] == "warm"
    assert isinstance(warm["files"], int)
    assert warm["files"] > 100
    spare.order(DEVSERVER_RELOAD_REASON="views.py changed")  # a per-start variable: the child sees it
    output, _ = spare.process.communicate(timeout=60)
    assert spare.process.returncode == 7
    first, second = output.splitlines()
    assert first == "printed before set-up"  # held until the orders, then shown once
    assert json.loads(second) == {"argv": spare.program, "reason": "views.py changed", "ready": "imported at set-up"}


def test_it_declines_when_the_change_is_something_it_loaded(spare: Spare, tmp_path: Path) -> None:
    assert spare.message()["event"] == "warm"
    spare.order(changed=[str(tmp_path / "spare_probe_app.py")])
    declined = spare.message()
    assert declined == {"event": "declined", "reason": f"{tmp_path / 'spare_probe_app.py'} changed"}
    output, _ = spare.process.communicate(timeout=60)
    assert spare.process.returncode == 0
    assert output == ""  # what it printed was for a start that never came


def test_it_declines_when_the_environment_differs(spare: Spare) -> None:
    assert spare.message()["event"] == "warm"
    spare.order(SOMETHING_NEW="1")
    assert spare.message() == {"event": "declined", "reason": "the environment variable SOMETHING_NEW changed"}


def test_it_leaves_quietly_when_the_supervisor_goes(spare: Spare) -> None:
    assert spare.message()["event"] == "warm"
    spare.supervisor.shutdown(socket.SHUT_WR)
    output, _ = spare.process.communicate(timeout=60)
    assert (spare.process.returncode, output) == (0, "")


def test_only_per_start_variables_may_differ() -> None:
    before = {"PATH": "/bin", "DEVSERVER_SPAWNED_AT": "1.0"}
    assert (
        stale_environment(before, {"PATH": "/bin", "DEVSERVER_SPAWNED_AT": "2.0", "DEVSERVER_RELOAD_REASON": "x"})
        is None
    )
    assert stale_environment(before, {"DEVSERVER_SPAWNED_AT": "1.0"}) == "the environment variable PATH changed"
