"""Django's own runserver tests, taken from the sdist of the installed Django and pointed at devrun.

Django's wheel ships no tests, so the sdist of the exact installed version is downloaded once
(``pip download``) into a cache. The cases are extracted and adapted mechanically, on the syntax
tree, only where runserver's command name or class appears; nothing from Django is copied into
this repository. Every adaptation must find what it adapts, so a change in Django's tests fails
loudly instead of quietly testing runserver.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import django

#: Test modules of Django's suite that hold runserver cases, and the classes to run from each.
ADMIN_SCRIPTS: Final = "admin_scripts/tests.py"
STATICFILES: Final = "staticfiles_tests/test_management.py"
#: What the adapted modules import from the rest of Django's test tree.
SUPPORT: Final = ("admin_scripts/", "staticfiles_tests/", "user_commands/", "test_sqlite.py", "urls.py")
#: Cases that cannot run against any server but runserver, and why.
SKIPPED: Final = {
    ("ManageRunserver", "test_skip_checks"): (
        "mocks runserver's module-level run(), the socket server devrun replaces, so devrun would "
        "really serve on port 8000; devrun's --skip-checks is tested in tests/e2e/test_command.py"
    ),
}
ADAPTED_MODULE: Final = "test_devrun_runserver"
SETTINGS_MODULE: Final = "devrun_suite_settings"
#: Django's own test settings (test_sqlite.py) plus what runtests.py sets and these cases need.
SETTINGS: Final = """\
from test_sqlite import *  # noqa: F403  Django's test settings: SQLite databases, a secret key

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "admin_scripts",
    "devserver",
]
ROOT_URLCONF = "urls"
STATIC_URL = "static/"
MIDDLEWARE = []
"""


class SuiteChanged(AssertionError):
    """Django's test source no longer has what an adaptation expects."""


def cache_dir() -> Path:
    """``$DEVSERVER_TEST_CACHE``, or ``~/.cache/devserver-tests``: survives runs, never committed."""
    configured = os.environ.get("DEVSERVER_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "devserver-tests"


def django_sdist(version: str = django.get_version()) -> Path:
    """The sdist of Django ``version``, downloaded with pip on first use."""
    directory = cache_dir()
    sdist = directory / f"django-{version}.tar.gz"
    if not sdist.exists():
        directory.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, "--dest", str(directory), f"Django=={version}"], check=True, timeout=600)
    return sdist


def extract_tests(sdist: Path, destination: Path) -> Path:
    """The parts of the sdist's ``tests/`` the runserver cases need; returns that ``tests`` directory."""
    with tarfile.open(sdist) as archive:
        root = archive.getmembers()[0].name.split("/")[0]
        prefix = f"{root}/tests/"
        wanted = [
            member
            for member in archive.getmembers()
            if member.name.startswith(prefix) and member.name[len(prefix) :].startswith(SUPPORT)
        ]
        archive.extractall(destination, members=wanted, filter="data")
    return destination / root / "tests"


@dataclass(frozen=True)
class Suite:
    tests: Path
    labels: tuple[str, ...]
    #: ``module.Class.test_name`` of every case in the adapted modules.
    cases: tuple[str, ...]


def prepare_suite(tests: Path) -> Suite:
    """Write the adapted modules and the settings beside Django's tests."""
    admin = adapt(tests / ADMIN_SCRIPTS, keep=lambda name: name.startswith("ManageRunserver"))
    static = adapt(tests / STATICFILES, keep=lambda name: name == "TestRunserver")
    (tests / "admin_scripts" / f"{ADAPTED_MODULE}.py").write_text(admin)
    (tests / "staticfiles_tests" / f"{ADAPTED_MODULE}.py").write_text(static)
    (tests / f"{SETTINGS_MODULE}.py").write_text(SETTINGS)
    labels = (f"admin_scripts.{ADAPTED_MODULE}", f"staticfiles_tests.{ADAPTED_MODULE}")
    cases = tuple(
        f"{label}.{case}" for label, source in zip(labels, (admin, static), strict=True) for case in case_names(source)
    )
    return Suite(tests, labels, cases)


def adapt(path: Path, keep: Callable[[str], bool]) -> str:
    """The module at ``path`` reduced to its imports, constants, the kept classes and the local base
    classes they need; runserver's name and class replaced by devrun's."""
    tree = ast.parse(path.read_text(), filename=str(path))
    kept = [node for node in tree.body if isinstance(node, ast.ClassDef) and keep(node.name)]
    if not kept:
        raise SuiteChanged(f"{path}: no runserver test classes found")
    bases = {base.id for node in kept for base in node.bases if isinstance(base, ast.Name)}
    body = [ast.parse("import unittest").body[0]]
    body += [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Assign)
        or (isinstance(node, ast.ClassDef) and (node in kept or node.name in bases))
    ]
    adapter = DevrunAdapter()
    adapted = adapter.visit(ast.Module(body=body, type_ignores=[]))
    adapter.check(path)
    return ast.unparse(ast.fix_missing_locations(adapted)) + "\n"


class DevrunAdapter(ast.NodeTransformer):
    """The adaptations, each counted: runserver's command name, class and module become devrun's.
    devrun is an app's command, found only through ``INSTALLED_APPS``: the settings a case writes
    for its ``manage.py`` subprocess install devserver, and a case that runs ``manage.py`` without
    writing settings first writes the default ones. :data:`SKIPPED` cases get ``unittest.skip``."""

    def __init__(self) -> None:
        self.applied: dict[str, int] = {"command class": 0, "command name": 0, "installed app": 0}
        self._in_write_settings = False

    def check(self, path: Path) -> None:
        if not self.applied["command class"]:
            raise SuiteChanged(f"{path}: runserver's Command is no longer imported where expected")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | list[ast.stmt]:
        names = {alias.name for alias in node.names}
        if node.module == "django.core.management.commands.runserver" and names == {"Command"}:
            self.applied["command class"] += 1
            node.module = "devserver.management.commands.devrun"
            return node
        if node.module == "django.contrib.staticfiles.management.commands" and "runserver" in names:
            self.applied["command class"] += 1
            node.names = [alias for alias in node.names if alias.name != "runserver"]
            devrun = ast.ImportFrom(
                module="devserver.management.commands", names=[ast.alias("devrun", "runserver")], level=0
            )
            return [node, devrun] if node.names else [devrun]
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if node.value == "runserver":
            self.applied["command name"] += 1
            return ast.copy_location(ast.Constant("devrun"), node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name == "write_settings":
            for child in ast.walk(node):
                if isinstance(child, ast.List) and any(
                    isinstance(item, ast.Constant) and item.value == "admin_scripts" for item in child.elts
                ):
                    child.elts.append(ast.Constant("devserver"))
                    self.applied["installed app"] += 1
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        self.generic_visit(node)
        runs_manage = any(isinstance(n, ast.Attribute) and n.attr == "run_manage" for n in ast.walk(node))
        writes_settings = any(isinstance(n, ast.Attribute) and n.attr == "write_settings" for n in ast.walk(node))
        if runs_manage and not writes_settings:
            setup = "def setUp(self):\n    super().setUp()\n    self.write_settings('settings.py')"
            node.body.insert(0, ast.parse(setup).body[0])
            self.applied["installed app"] += 1
        for item in node.body:
            reason = SKIPPED.get((node.name, getattr(item, "name", "")))
            if reason is not None and isinstance(item, ast.FunctionDef):
                skip = ast.parse(f"unittest.skip({reason!r})", mode="eval").body
                item.decorator_list.insert(0, skip)
        return node


def case_names(source: str) -> list[str]:
    """``Class.test_name`` for each test method of the test classes in ``source``."""
    tree = ast.parse(source)
    return [
        f"{node.name}.{item.name}"
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name.startswith("test")
    ]


def run_suite(suite: Suite, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Django's test runner on the adapted modules, in a subprocess with the suite's settings."""
    env = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE", "RUN_MAIN")}
    env["PYTHONPATH"] = str(suite.tests)
    env["PYTHONWARNINGS"] = ""
    command = [sys.executable, "-m", "django", "test", *suite.labels, "--settings", SETTINGS_MODULE, "-v", "2"]
    return subprocess.run(
        command,
        cwd=suite.tests,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
