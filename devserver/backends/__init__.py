"""Serving backends, chosen by name: the built-in name → import-path table, then the backends
that installed packages register under the ``devserver.backends`` entry-point group, then any
dotted path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from django.utils.module_loading import import_string

from ..errors import ConfigurationError

if TYPE_CHECKING:  # the registry is read before any backend is needed (python -m devserver)
    from importlib.metadata import EntryPoint

    from .base import Backend

BACKENDS: Final[dict[str, str]] = {
    "threaded": "devserver.backends.threaded.ThreadedBackend",
    "single": "devserver.backends.single.SingleBackend",
    "asyncio": "devserver.backends.asyncio.AsyncioBackend",
}
DEFAULT_BACKEND: Final = "threaded"
#: A package registers a backend in its pyproject.toml:
#: ``[project.entry-points."devserver.backends"] name = "package.module:BackendClass"``.
ENTRY_POINT_GROUP: Final = "devserver.backends"


def plugin_backends() -> dict[str, EntryPoint]:
    """Backends registered by installed packages; a built-in name is never replaced."""
    from importlib.metadata import entry_points  # ~20 ms to import: only when a name is not built in

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BACKENDS}


def installed_backend_names() -> list[str]:
    """Every name ``--backend`` accepts: the built-ins first, then plugins, alphabetically."""
    return [*BACKENDS, *sorted(plugin_backends())]


def backend_path(name: str) -> str:
    """The import path of a built-in or plugin backend, or a dotted path, without importing it;
    ConfigurationError for anything else."""
    path = BACKENDS.get(name)
    if path is not None:  # the usual case: no package metadata is read
        return path
    plugin = plugin_backends().get(name)
    if plugin is not None:
        return plugin.value.replace(":", ".")
    if "." in name:
        return name
    choices = ", ".join(installed_backend_names())
    raise ConfigurationError(
        f"Unknown backend {name!r}; choose one of: {choices} (or a dotted path to a Backend class)"
    )


def resolve_backend(name: str) -> type[Backend]:
    """The backend class for a built-in or plugin name, or a dotted path; ConfigurationError otherwise."""
    path = backend_path(name)
    try:
        backend = import_string(path)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"Cannot import backend {name!r}: {error}") from None
    if not isinstance(backend, type) or not callable(getattr(backend, "serve_forever", None)):
        raise ConfigurationError(f"Backend {name!r} is not a class with serve_forever()")
    return cast("type[Backend]", backend)
