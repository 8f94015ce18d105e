"""The system checks runserver runs before serving, so a subclass that narrows
``requires_system_checks`` gets only those checks from devrun too."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


def runserver_check_kwargs(command: BaseCommand, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments runserver's ``inner_run()`` gives ``self.check()``.

    Where Django has ``get_check_kwargs`` (5.2+), runserver asks ``BaseCommand``'s version, which
    reads ``requires_system_checks`` (its own override only silences the checks ``execute()``
    would run); before that, runserver ran every check.
    """
    base_kwargs = getattr(BaseCommand, "get_check_kwargs", None)
    kwargs: dict[str, Any] = dict(base_kwargs(command, options)) if base_kwargs is not None else {}
    kwargs["display_num_errors"] = True
    return kwargs
