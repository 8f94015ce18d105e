"""Serving backends, chosen from a name → import-path table (or any dotted path)."""

from __future__ import annotations

from typing import Final, cast

from django.utils.module_loading import import_string

from ..errors import ConfigurationError
from .base import Backend

BACKENDS: Final[dict[str, str]] = {
    "threaded": "devserver.backends.threaded.ThreadedBackend",
    "single": "devserver.backends.single.SingleBackend",
    "asyncio": "devserver.backends.asyncio.AsyncioBackend",
}
DEFAULT_BACKEND: Final = "threaded"


def resolve_backend(name: str) -> type[Backend]:
    """The backend class for a registered name or a dotted path; ConfigurationError otherwise."""
    path = BACKENDS.get(name)
    if path is None:
        if "." not in name:
            choices = ", ".join(BACKENDS)
            raise ConfigurationError(
                f"Unknown backend {name!r}; choose one of: {choices} (or a dotted path to a Backend class)"
            )
        path = name
    try:
        backend = import_string(path)
    except ImportError as error:
        raise ConfigurationError(f"Cannot import backend {name!r}: {error}") from None
    if not isinstance(backend, type) or not callable(getattr(backend, "serve_forever", None)):
        raise ConfigurationError(f"Backend {name!r} is not a class with serve_forever()")
    return cast("type[Backend]", backend)
