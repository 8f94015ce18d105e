"""``manage.py devrun --version``: devserver's version, then Django's."""

from __future__ import annotations

import django

import devserver

from ..server import run_devrun


def test_version_names_devserver_and_django(project_env: dict[str, str]) -> None:
    result = run_devrun(["--version"], project_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"devserver {devserver.__version__} (django-devrun), Django {django.get_version()}\n"
