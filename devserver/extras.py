"""Optional features live in extras (``pip install 'django-devrun[NAME]'``); a missing one is a one-line error."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigurationError


class MissingExtraError(ConfigurationError):
    """An option needs a package that is not installed; the message names the extra that brings it."""


def import_extra(module: str, *, extra: str, feature: str, package: str) -> ModuleType:
    """Import ``module`` for ``feature``, or say which extra installs ``package``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or module.partition(".")[0] != error.name.partition(".")[0]:
            raise  # the package is there, something it imports is not: its own error says more
        raise MissingExtraError(
            f"{feature} needs {package}, which is not installed: pip install 'django-devrun[{extra}]'"
        ) from None
