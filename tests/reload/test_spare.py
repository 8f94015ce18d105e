"""The warm spare: preloading without settings, and becoming the child it is told to be."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.reload.handoff import CONTROL_FD_ENV
from devserver.reload.process import spare_arguments
from devserver.reload.spare import changed_since, preload, wait_for_orders


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("spare_good", "spare_helper", "spare_bad", "spare_settings_reader"):
        sys.modules.pop(name, None)


def test_a_module_that_fails_is_rolled_back_with_what_it_imported(modules: Path) -> None:
    (modules / "spare_good.py").write_text("VALUE = 1\n")
    (modules / "spare_helper.py").write_text("HELPED = True\n")
    (modules / "spare_bad.py").write_text("import spare_helper\nraise RuntimeError('needs settings')\n")
    preload(["spare_good", "spare_bad"])
    assert "spare_good" in sys.modules
    assert "spare_bad" not in sys.modules
    assert "spare_helper" not in sys.modules


def test_settings_are_out_of_reach_while_preloading(modules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "project.settings")
    (modules / "spare_settings_reader.py").write_text("import os\nSEEN = os.environ.get('DJANGO_SETTINGS_MODULE')\n")
    preload(["spare_settings_reader"])
    assert sys.modules["spare_settings_reader"].SEEN is None
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "project.settings"


def test_a_module_written_after_the_start_makes_the_spare_stale(modules: Path) -> None:
    (modules / "spare_good.py").write_text("VALUE = 1\n")
    preload(["spare_good"])
    assert not changed_since(time.time() + 3600)
    assert changed_since(time.time() - 3600)


def test_orders_are_one_line_and_eof_means_none() -> None:
    supervisor, spare = socket.socketpair()
    with supervisor, spare:
        supervisor.sendall(b'{"argv": ["python"], ')
        supervisor.sendall(b'"program": ["manage.py"], "env": {}}\n')
        assert wait_for_orders(spare) == {"argv": ["python"], "program": ["manage.py"], "env": {}}
        supervisor.close()
        assert wait_for_orders(spare) is None


def run_in_spare(tmp_path: Path, program: list[str]) -> dict[str, object]:
    """Start a real spare, give it orders, and return what the program saw."""
    supervisor, spare_end = socket.socketpair()
    with supervisor, spare_end:
        process = subprocess.Popen(
            spare_arguments(),
            cwd=tmp_path,
            env={**os.environ, CONTROL_FD_ENV: str(spare_end.fileno())},
            pass_fds=(spare_end.fileno(),),
            stdout=subprocess.PIPE,
        )
        spare_end.close()
        env = {**os.environ, "SEEN_BY_CHILD": "yes", CONTROL_FD_ENV: str(spare_end.fileno())}
        orders = {"argv": [sys.executable, *program], "program": program, "env": env}
        supervisor.sendall(json.dumps(orders).encode() + b"\n")
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 7
    seen: dict[str, object] = json.loads(output)
    return seen


REPORT = """
import json, os, sys
print(json.dumps({
    "name": __name__, "argv": sys.argv, "path0": sys.path[0], "env": os.environ.get("SEEN_BY_CHILD"),
    "preloaded": "django.core.management" in sys.modules,
}))
sys.exit(7)
"""


def test_a_spare_runs_a_script_as_python_would(tmp_path: Path) -> None:
    scripts = tmp_path / "bin"
    scripts.mkdir()
    (scripts / "manage.py").write_text(REPORT)
    seen = run_in_spare(tmp_path, [str(scripts / "manage.py"), "devrun", "8000"])
    assert seen == {
        "name": "__main__",
        "argv": [str(scripts / "manage.py"), "devrun", "8000"],
        "path0": str(scripts),
        "env": "yes",
        "preloaded": True,
    }


def test_a_spare_runs_a_module_as_python_m_would(tmp_path: Path) -> None:
    (tmp_path / "spare_main_module.py").write_text(REPORT)
    seen = run_in_spare(tmp_path, ["-m", "spare_main_module", "devrun"])
    assert seen["name"] == "__main__"
    assert seen["argv"] == [str(tmp_path / "spare_main_module.py"), "devrun"]
    assert seen["path0"] == str(tmp_path)
