"""Django's own runserver tests, from the installed Django's sdist, run against devrun.

The ``ManageRunserver*`` cases of ``tests/admin_scripts/tests.py`` and the runserver cases of
``tests/staticfiles_tests/test_management.py``, adapted only where runserver's command name or
class appears (see :mod:`tests.contract.django_suite`), under Django's own test runner.
"""

from __future__ import annotations

import re
from pathlib import Path

import django
import pytest

from .django_suite import SKIPPED, Suite, django_sdist, extract_tests, prepare_suite, run_suite

#: One result of Django's runner at verbosity 2: ``test_x (module.Class.test_x) ... ok``, with the
#: docstring's first line, if any, on a line of its own before `` ... ok``.
RESULT = re.compile(r"^(?P<name>test\w*) \((?P<where>[\w.]+)\)(?:\n.*?)? \.\.\. (?P<outcome>.+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    tests = extract_tests(django_sdist(), tmp_path_factory.mktemp("django-tests"))
    return prepare_suite(tests)


def outcomes(output: str) -> dict[str, str]:
    """``module.Class.test_name`` → ``ok``, ``skipped '…'``, ``FAIL`` or ``ERROR``."""
    found = {}
    for match in RESULT.finditer(output):
        where = match["where"]
        name = where if where.endswith("." + match["name"]) else f"{where}.{match['name']}"
        found[name] = match["outcome"]
    return found


@pytest.mark.slow
def test_djangos_runserver_tests_pass_against_devrun(suite: Suite) -> None:
    result = run_suite(suite)
    output = result.stdout + result.stderr
    results = outcomes(output)
    skipped = {f"{label}.{cls}.{name}" for label in suite.labels for (cls, name) in SKIPPED}
    expected = {case: "skipped" if case in skipped else "ok" for case in suite.cases}
    assert len(expected) >= 10, suite.cases  # the cases were found
    got = {case: results.get(case, "not run").split(" ")[0] for case in expected}
    assert got == expected, output[-6000:]
    assert result.returncode == 0, output[-6000:]


def test_the_cases_come_from_the_installed_djangos_sdist(suite: Suite) -> None:
    assert suite.tests.parent.name == f"django-{django.get_version()}"
    adapted = (suite.tests / "admin_scripts" / "test_devrun_runserver.py").read_text()
    assert "from devserver.management.commands.devrun import Command as RunserverCommand" in adapted
    assert "django.core.management.commands.runserver import" not in adapted
    assert Path(suite.tests / "staticfiles_tests" / "test_devrun_runserver.py").read_text().count("TestRunserver") == 1
