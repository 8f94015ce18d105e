"""When a manage.py process hands itself over to the launcher (the exec itself is end to end:
tests/e2e/test_launcher.py and test_broken_at_launch.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devserver.handover import project_directory, run_from_command_line, wants_hand_over


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["manage.py", "runserver"], {}, True),
        (["manage.py", "runserver", "0:8000", "--reload-dir", "lib"], {}, True),
        (["/venv/bin/django-admin", "runserver", "--settings=site.settings"], {}, True),
        (["manage.py", "devrun"], {}, False),  # another command
        (["manage.py"], {}, False),
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, False),  # a reloader's child
        (["manage.py", "runserver"], {"DEVSERVER_NO_HANDOVER": "1"}, False),
        (["manage.py", "runserver", "--noreload"], {}, False),
        (["manage.py", "runserver", "--check", "/"], {}, False),
        (["manage.py", "runserver", "--check=/"], {}, False),
        (["manage.py", "runserver", "--help"], {}, False),
        (["manage.py", "runserver", "-h"], {}, False),
        (["manage.py", "runserver", "--version"], {}, False),
    ],
)
def test_only_the_reloaders_parent_hands_over(argv: list[str], environ: dict[str, str], expected: bool) -> None:
    assert wants_hand_over("runserver", argv, environ) is expected


def test_nothing_hands_over_outside_manage_py() -> None:
    assert not run_from_command_line()  # pytest, not ManagementUtility.execute(), is running


def test_the_project_is_where_manage_py_is(tmp_path: Path) -> None:
    manage = tmp_path / "manage.py"
    manage.write_text("")
    assert project_directory(str(manage)) == tmp_path


def test_a_script_of_the_environment_means_the_working_directory() -> None:
    django_admin = Path(sys.executable).with_name("django-admin")
    assert project_directory(str(django_admin)) == Path.cwd()
    assert project_directory("no/such/script") == Path.cwd()
