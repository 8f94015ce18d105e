"""The ``DEVSERVER`` setting: validated once, from a table, into a frozen :class:`ServerConfig`."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .errors import ConfigurationError


class ServerConfig(NamedTuple):
    """Everything a backend needs to know besides the socket and the application."""

    #: Empty: the interface's default (threaded for WSGI, asyncio for ASGI).
    backend: str = ""
    max_connections: int = 1000
    keep_alive_timeout: float = 5.0
    header_timeout: float = 10.0
    send_timeout: float = 10.0
    shutdown_timeout: float = 5.0
    # The asyncio backend's websockets.
    websocket_max_message_size: int = 16 * 1024 * 1024
    websocket_idle_timeout: float = 60.0
    #: "auto" (uvloop when installed), "asyncio" or "uvloop".
    event_loop: str = "auto"
    # The reloader's (read by devserver.reload, not by backends).
    reload_dirs: tuple[str, ...] = ()
    reload_include: tuple[str, ...] = ()
    reload_exclude: tuple[str, ...] = ()
    reload_delay_ms: int = 50
    reload_poll: bool = False
    # HTTPS (devserver.tls): a certificate (created when missing) and its key (None: in the certificate file).
    cert_file: str | None = None
    key_file: str | None = None
    # Each request's queries (devserver.sql), on the access line; the command turns the summary off without DEBUG.
    sql_summary: bool = True
    sql_n_plus_one: int = 10
    print_sql: bool = False

    def with_options(self, **overrides: Any) -> ServerConfig:
        """Command-line options win over settings; ``None`` means "not given"."""
        return self._replace(**{k: v for k, v in overrides.items() if v is not None})


def _positive_int(value: Any) -> int:
    if type(value) is not int or value <= 0:
        raise ValueError("a positive integer")
    return value


def _positive_number(value: Any) -> float:
    if type(value) not in (int, float) or value <= 0:
        raise ValueError("a positive number of seconds")
    return float(value)


def non_negative_seconds(value: Any) -> float:
    if type(value) not in (int, float) or not 0 <= value < math.inf:
        raise ValueError("a number of seconds, 0 or more")
    return float(value)


def _non_empty_str(value: Any) -> str:
    if type(value) is not str or not value:
        raise ValueError("a non-empty string")
    return value


def debounce_milliseconds(value: Any) -> int:
    if type(value) not in (int, float) or not 0 <= value < 60_000:
        raise ValueError("a number of milliseconds from 0 to 60000")
    milliseconds: float = value
    return round(milliseconds)


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("True or False")
    return value


def _globs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(_is_text(item) for item in value):
        raise ValueError("a list of glob patterns (non-empty strings)")
    return tuple(value)


def _directories(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(_is_text(item) for item in value):
        raise ValueError("a list of directory paths (non-empty strings)")
    if not all(os.path.isdir(item) for item in value):
        raise ValueError("a list of existing directories")
    return tuple(value)


def _file_path(value: Any) -> str:
    if type(value) is not str or not value:
        raise ValueError("a file path (a non-empty string)")
    return value


def n_plus_one_threshold(value: Any) -> int:
    if type(value) is not int or value == 1 or not 0 <= value <= 1_000_000:
        raise ValueError("a number of queries, 2 or more (0 turns the warning off)")
    return value


def _event_loop(value: Any) -> str:
    if value not in ("auto", "asyncio", "uvloop"):
        raise ValueError('"auto", "asyncio" or "uvloop"')
    if value == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise ValueError('"auto" or "asyncio" while uvloop is not installed (pip install \'django-devrun[uvloop]\')')
    return str(value)


def _is_text(item: Any) -> bool:
    return type(item) is str and bool(item)


#: setting name → (ServerConfig field, validator)
SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "BACKEND": ("backend", _non_empty_str),
    "MAX_CONNECTIONS": ("max_connections", _positive_int),
    "KEEP_ALIVE_TIMEOUT": ("keep_alive_timeout", _positive_number),
    "HEADER_TIMEOUT": ("header_timeout", _positive_number),
    "SEND_TIMEOUT": ("send_timeout", _positive_number),
    "SHUTDOWN_TIMEOUT": ("shutdown_timeout", non_negative_seconds),
    "WEBSOCKET_MAX_MESSAGE_SIZE": ("websocket_max_message_size", _positive_int),
    "WEBSOCKET_IDLE_TIMEOUT": ("websocket_idle_timeout", non_negative_seconds),
    "EVENT_LOOP": ("event_loop", _event_loop),
    "RELOAD_DIRS": ("reload_dirs", _directories),
    "RELOAD_INCLUDE": ("reload_include", _globs),
    "RELOAD_EXCLUDE": ("reload_exclude", _globs),
    "RELOAD_DELAY": ("reload_delay_ms", debounce_milliseconds),
    "RELOAD_POLL": ("reload_poll", _bool),
    "CERT_FILE": ("cert_file", _file_path),
    "KEY_FILE": ("key_file", _file_path),
    "SQL_SUMMARY": ("sql_summary", _bool),
    "SQL_N_PLUS_ONE": ("sql_n_plus_one", n_plus_one_threshold),
    "PRINT_SQL": ("print_sql", _bool),
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
