"""The WSGI application to serve: ``settings.WSGI_APPLICATION``, wrapped for static files
exactly when runserver (through django.contrib.staticfiles) would serve them.
"""

from __future__ import annotations

from typing import cast

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.servers.basehttp import get_internal_wsgi_application

from .errors import ConfigurationError
from .wsgi.gateway import WSGIApplication


def load_application() -> WSGIApplication:
    """Import ``WSGI_APPLICATION``; a bad setting is a one-line :class:`ConfigurationError`."""
    try:
        return cast("WSGIApplication", get_internal_wsgi_application())
    except ImproperlyConfigured as error:
        cause = f" ({error.__cause__})" if error.__cause__ else ""
        raise ConfigurationError(f"{error}{cause}") from error


def serves_static_files(*, use_static_handler: bool, insecure_serving: bool) -> bool:
    """runserver's rule, through ``django.contrib.staticfiles``: the app is installed, no
    ``--nostatic``, and ``DEBUG`` or ``--insecure``. The same for WSGI and ASGI."""
    return (
        apps.is_installed("django.contrib.staticfiles")
        and use_static_handler
        and (settings.DEBUG or insecure_serving)
    )


def with_static_files(
    application: WSGIApplication, *, use_static_handler: bool, insecure_serving: bool
) -> WSGIApplication:
    if serves_static_files(use_static_handler=use_static_handler, insecure_serving=insecure_serving):
        from django.contrib.staticfiles.handlers import StaticFilesHandler

        return cast("WSGIApplication", StaticFilesHandler(application))  # type: ignore[arg-type]
    return application
