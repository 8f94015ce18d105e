"""Which interface devrun serves, WSGI or ASGI, and so which application and which backends.

``settings.ASGI_APPLICATION`` makes it ASGI (as daphne's runserver does); ``--asgi`` forces ASGI
(Django's ``get_asgi_application()`` when the setting is absent) and ``--wsgi`` forces WSGI. Each
backend serves one interface (its ``interface`` attribute; "wsgi" when it has none).
"""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings

from .asgi.types import ASGIApplication
from .errors import ConfigurationError
from .wsgi.gateway import WSGIApplication

WSGI: Final = "wsgi"
ASGI: Final = "asgi"
#: The backend each interface gets when none is named.
DEFAULT_BACKENDS: Final = {WSGI: "threaded", ASGI: "asyncio"}

Application = WSGIApplication | ASGIApplication


def choose_interface(*, force_asgi: bool = False, force_wsgi: bool = False) -> str:
    if force_asgi and force_wsgi:
        raise ConfigurationError("--asgi and --wsgi cannot be combined.")
    if force_wsgi:
        return WSGI
    if force_asgi or getattr(settings, "ASGI_APPLICATION", None):
        return ASGI
    return WSGI


def interface_of(backend: Any) -> str:
    return str(getattr(backend, "interface", WSGI))


def check_backend(backend: Any, name: str, interface: str) -> None:
    """A backend that cannot serve the chosen interface is a one-line ConfigurationError."""
    serves = interface_of(backend)
    if serves == interface:
        return
    if interface == ASGI:
        why = "--asgi" if not getattr(settings, "ASGI_APPLICATION", None) else "settings.ASGI_APPLICATION is set"
        hint = f"use --backend {DEFAULT_BACKENDS[ASGI]}, or --wsgi to serve WSGI_APPLICATION"
    else:
        why = "no ASGI_APPLICATION is set" if not getattr(settings, "ASGI_APPLICATION", None) else "--wsgi"
        hint = "add --asgi (or set ASGI_APPLICATION) to serve ASGI"
    raise ConfigurationError(
        f"The {name} backend serves {serves.upper()} applications, but this project is served as "
        f"{interface.upper()} ({why}); {hint}."
    )


def load_application(interface: str, *, use_static_handler: bool, insecure_serving: bool) -> Application:
    """The application for ``interface``, wrapped for static files when runserver would serve them."""
    if interface == ASGI:
        from .asgi.application import load_asgi_application, with_static_files

        return with_static_files(
            load_asgi_application(), use_static_handler=use_static_handler, insecure_serving=insecure_serving
        )
    from . import application

    return application.with_static_files(
        application.load_application(), use_static_handler=use_static_handler, insecure_serving=insecure_serving
    )


def describe_backend(backend: Any, config: Any) -> str:
    """``threaded backend``, or what a backend says of itself (``asyncio backend on uvloop``)."""
    describe = getattr(backend, "describe", None)
    return str(describe(config)) if callable(describe) else f"{backend.name} backend"


def start(backend: Any) -> None:
    """Run a backend's start-up step (an ASGI application's lifespan startup) if it has one."""
    start_backend = getattr(backend, "start", None)
    if callable(start_backend):
        start_backend()
