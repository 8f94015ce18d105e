"""The start-up banner: runserver's lines, in runserver's order, plus the interface and the backend."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Final

import django
from django.utils.version import get_docs_version

from . import __version__


def starting_words(interface: str = "wsgi") -> str:
    """runserver's words before the URL (scripts read this line); Django 6.1 names the interface."""
    return (
        f"Starting {interface.upper()} development server at"
        if django.VERSION >= (6, 1)
        else "Starting development server at"
    )


#: runserver's own words, for a WSGI project.
STARTING: Final = starting_words()


def display_host(addr: str, *, raw_ipv6: bool) -> str:
    if raw_ipv6:
        return f"[{addr}]"
    return "0.0.0.0" if addr == "0" else addr


def banner_lines(
    *, django_version: str, settings_module: str | None, url: str, backend: str | None, interface: str = "wsgi"
) -> list[str]:
    """``backend`` describes it (``threaded backend``); None when the command never chose one
    (runserver's ``on_bind()`` alone)."""
    quit_command = "CTRL-BREAK" if sys.platform == "win32" else "CONTROL-C"
    serving = [f"Serving {interface.upper()} with devserver {__version__}, {backend}"] if backend else []
    return [
        datetime.now().strftime("%B %d, %Y - %X"),
        f"Django version {django_version}, using settings {settings_module!r}",
        f"{starting_words(interface)} {url}",
        *serving,
        f"Quit the server with {quit_command}.",
    ]


def version_text(django_version: str) -> str:
    """``devrun --version``: ours, then Django's."""
    return f"devserver {__version__} (django-devrun), Django {django_version}"


def production_warning() -> str | None:
    if os.environ.get("DJANGO_RUNSERVER_HIDE_WARNING") == "true":
        return None
    return (
        "WARNING: This is a development server. Do not use it in a production setting. "
        "Use a production WSGI or ASGI server instead.\n"
        "For more information on production servers see: "
        f"https://docs.djangoproject.com/en/{get_docs_version()}/howto/deployment/"
    )
