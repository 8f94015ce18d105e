"""The ``DEVSERVER`` setting: validated once, from a table, into a frozen :class:`ServerConfig`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything a backend needs to know besides the socket and the application."""

    backend: str = "threaded"
    max_connections: int = 1000
    keep_alive_timeout: float = 5.0
    header_timeout: float = 10.0
    send_timeout: float = 10.0
    shutdown_timeout: float = 5.0

    def with_options(self, **overrides: Any) -> ServerConfig:
        """Command-line options win over settings; ``None`` means "not given"."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _positive_int(value: Any) -> int:
    if type(value) is not int or value <= 0:
        raise ValueError("a positive integer")
    return value


def _positive_number(value: Any) -> float:
    if type(value) not in (int, float) or value <= 0:
        raise ValueError("a positive number of seconds")
    return float(value)


def _non_negative_number(value: Any) -> float:
    if type(value) not in (int, float) or value < 0:
        raise ValueError("a number of seconds, 0 or more")
    return float(value)


def _non_empty_str(value: Any) -> str:
    if type(value) is not str or not value:
        raise ValueError("a non-empty string")
    return value


#: setting name → (ServerConfig field, validator)
SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "BACKEND": ("backend", _non_empty_str),
    "MAX_CONNECTIONS": ("max_connections", _positive_int),
    "KEEP_ALIVE_TIMEOUT": ("keep_alive_timeout", _positive_number),
    "HEADER_TIMEOUT": ("header_timeout", _positive_number),
    "SEND_TIMEOUT": ("send_timeout", _positive_number),
    "SHUTDOWN_TIMEOUT": ("shutdown_timeout", _non_negative_number),
}


def load_config(setting: Any) -> ServerConfig:
    """Validate ``settings.DEVSERVER`` (a dict); raise :class:`ConfigurationError` naming the key."""
    if setting is None:
        return ServerConfig()
    if not isinstance(setting, Mapping):
        raise ConfigurationError(f"settings.DEVSERVER must be a dict, not {type(setting).__name__}")
    values: dict[str, Any] = {}
    for key, value in setting.items():
        if key not in SETTINGS:
            known = ", ".join(sorted(SETTINGS))
            raise ConfigurationError(f"Unknown setting DEVSERVER[{key!r}]; known settings: {known}")
        field, validate = SETTINGS[key]
        try:
            values[field] = validate(value)
        except ValueError as expected:
            raise ConfigurationError(f"DEVSERVER[{key!r}] must be {expected}, not {value!r}") from None
    return ServerConfig(**values)
