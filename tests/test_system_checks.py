"""The checks devrun runs before serving follow runserver's, including a subclass's narrowing."""

from __future__ import annotations

import pytest
from django.core.checks import Tags
from django.core.management.base import BaseCommand

from devserver.management.commands.devrun import Command
from devserver.system_checks import runserver_check_kwargs


class SecurityChecksOnly(Command):
    requires_system_checks = [Tags.security]  # noqa: RUF012 (Django's attribute, as Django's docs write it)


#: Django versions with get_check_kwargs() (5.2+): runserver passes it to self.check().
NARROWS = hasattr(BaseCommand, "get_check_kwargs")


def test_devrun_runs_every_check_with_the_count_shown() -> None:
    assert runserver_check_kwargs(Command(), {}) == {"display_num_errors": True}


@pytest.mark.skipif(not NARROWS, reason="without get_check_kwargs, runserver runs every check")
def test_a_subclass_narrowing_requires_system_checks_gets_only_those() -> None:
    assert runserver_check_kwargs(SecurityChecksOnly(), {}) == {"tags": [Tags.security], "display_num_errors": True}


@pytest.mark.skipif(NARROWS, reason="this Django narrows")
def test_without_get_check_kwargs_every_check_runs_as_with_runserver() -> None:
    assert runserver_check_kwargs(SecurityChecksOnly(), {}) == {"display_num_errors": True}
