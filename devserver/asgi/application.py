"""The ASGI application to serve: ``settings.ASGI_APPLICATION``, or Django's own handler, wrapped
for static files exactly when runserver (through django.contrib.staticfiles) would serve them.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.utils.module_loading import import_string

from ..application import serves_static_files
from ..errors import ConfigurationError
from .types import ASGIApplication


def load_asgi_application() -> ASGIApplication:
    """``ASGI_APPLICATION`` when set (as daphne's runserver does), else ``get_asgi_application()``.

    A bad setting is a one-line :class:`ConfigurationError`.
    """
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not path:
        from django.core.asgi import get_asgi_application

        return cast("ASGIApplication", get_asgi_application())
    if not isinstance(path, str):
        raise ConfigurationError(f"settings.ASGI_APPLICATION must be a dotted path, not {path!r}")
    try:
        application = import_string(path)
    except ImportError as error:
        raise ConfigurationError(f"ASGI application {path!r} could not be loaded: {error}") from error
    if not callable(application):
        raise ConfigurationError(f"ASGI application {path!r} is not callable")
    return cast("ASGIApplication", application)


def with_static_files(
    application: ASGIApplication, *, use_static_handler: bool, insecure_serving: bool
) -> ASGIApplication:
    if serves_static_files(use_static_handler=use_static_handler, insecure_serving=insecure_serving):
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        return cast("ASGIApplication", ASGIStaticFilesHandler(application))  # type: ignore[arg-type]
    return application
