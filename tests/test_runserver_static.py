"""devrun serves static files by default exactly when the project's effective runserver would:
the rule reads that command's parser, so any app's runserver is honoured, not a list of names."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from devserver.runserver_static import serves_static_by_default

NOSTATIC_RUNSERVER = """\
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver


class Command(StaticfilesRunserver):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(use_static_handler=False)
"""
PLAIN_RUNSERVER = """\
from django.contrib.staticfiles.management.commands.runserver import Command  # noqa: F401
"""


@pytest.fixture
def apps_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [module for module in sys.modules if module.startswith(("nostatic_app", "plain_app"))]:
        del sys.modules[name]


def app_with_runserver(root: Path, name: str, source: str) -> str:
    commands = root / name / "management" / "commands"
    commands.mkdir(parents=True)
    for package in (root / name, root / name / "management", commands):
        (package / "__init__.py").write_text("")
    (commands / "runserver.py").write_text(textwrap.dedent(source))
    return name


BASE = ["django.contrib.auth", "django.contrib.contenttypes", "devserver"]


@pytest.mark.parametrize(
    ("apps", "expected"),
    [
        pytest.param([*BASE, "django.contrib.staticfiles"], True, id="staticfiles"),
        pytest.param(BASE, False, id="no_staticfiles"),
        pytest.param(["nostatic_app", *BASE, "django.contrib.staticfiles"], False, id="nostatic_app_first"),
        pytest.param([*BASE, "django.contrib.staticfiles", "nostatic_app"], True, id="nostatic_app_after"),
        pytest.param(["plain_app", *BASE, "django.contrib.staticfiles"], True, id="another_runserver"),
    ],
)
def test_the_effective_runservers_default_decides(apps_dir: Path, apps: list[str], expected: bool) -> None:
    app_with_runserver(apps_dir, "nostatic_app", NOSTATIC_RUNSERVER)
    app_with_runserver(apps_dir, "plain_app", PLAIN_RUNSERVER)
    with override_settings(INSTALLED_APPS=apps):  # also clears Django's cache of command names
        assert serves_static_by_default() is expected
