"""The start-up banner: runserver's lines, in runserver's order, plus the interface and the backend."""

from __future__ import annotations

import os
import sys
from datetime import datetime

from django.utils.version import get_docs_version

from . import __version__


def display_host(addr: str, *, raw_ipv6: bool) -> str:
    if raw_ipv6:
        return f"[{addr}]"
    return "0.0.0.0" if addr == "0" else addr


def banner_lines(
    *, django_version: str, settings_module: str | None, url: str, backend: str, interface: str = "wsgi"
) -> list[str]:
    quit_command = "CTRL-BREAK" if sys.platform == "win32" else "CONTROL-C"
    return [
        datetime.now().strftime("%B %d, %Y - %X"),
        f"Django version {django_version}, using settings {settings_module!r}",
        f"Starting development server at {url}",
        f"Serving {interface.upper()} with devserver {__version__}, {backend}",
        f"Quit the server with {quit_command}.",
    ]


def production_warning() -> str | None:
    if os.environ.get("DJANGO_RUNSERVER_HIDE_WARNING") == "true":
        return None
    return (
        "WARNING: This is a development server. Do not use it in a production setting. "
        "Use a production WSGI or ASGI server instead.\n"
        "For more information on production servers see: "
        f"https://docs.djangoproject.com/en/{get_docs_version()}/howto/deployment/"
    )
