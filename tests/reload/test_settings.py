"""The reloader's options and DEVSERVER settings, validated once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from devserver.conf import ServerConfig, load_config
from devserver.errors import ConfigurationError
from devserver.management.commands.devrun import Command
from devserver.options import reload_options


def parse(*argv: str) -> dict[str, Any]:
    parsed: dict[str, Any] = vars(Command().create_parser("manage.py", "devrun").parse_args(list(argv)))
    return parsed


def test_the_settings_fill_the_reload_fields(tmp_path: Path) -> None:
    config = load_config(
        {
            "RELOAD_DIRS": [str(tmp_path)],
            "RELOAD_INCLUDE": ["*.env", "*.yaml"],
            "RELOAD_EXCLUDE": ("media",),
            "RELOAD_DELAY": 120,
            "RELOAD_POLL": True,
        }
    )
    assert config.reload_dirs == (str(tmp_path),)
    assert config.reload_include == ("*.env", "*.yaml")
    assert config.reload_exclude == ("media",)
    assert config.reload_delay_ms == 120
    assert config.reload_poll is True


def test_the_defaults_watch_natively_with_a_short_debounce() -> None:
    config = ServerConfig()
    assert (config.reload_dirs, config.reload_include, config.reload_exclude) == ((), (), ())
    assert config.reload_delay_ms == 50
    assert config.reload_poll is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("RELOAD_DIRS", "/one/dir", "a list of directory paths"),
        ("RELOAD_DIRS", ["/no/such/directory"], "a list of existing directories"),
        ("RELOAD_INCLUDE", "*.env", "a list of glob patterns"),
        ("RELOAD_EXCLUDE", ["ok", ""], "a list of glob patterns"),
        ("RELOAD_DELAY", -1, "a number of milliseconds"),
        ("RELOAD_DELAY", "50", "a number of milliseconds"),
        ("RELOAD_POLL", "yes", "True or False"),
    ],
)
def test_bad_settings_are_rejected_by_name(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"DEVSERVER\['{key}'\] must be {message}"):
        load_config({key: value})


def test_options_override_settings(tmp_path: Path) -> None:
    options = parse(
        "--reload-dir",
        str(tmp_path),
        "--reload-dir",
        str(tmp_path),
        "--reload-include",
        "*.env",
        "--reload-exclude",
        "media",
        "--reload-delay",
        "0",
        "--reload-poll",
    )
    config = load_config({"RELOAD_DELAY": 300, "RELOAD_EXCLUDE": ["node_modules"]}).with_options(
        **reload_options(options)
    )
    assert config.reload_dirs == (str(tmp_path), str(tmp_path))
    assert config.reload_include == ("*.env",)
    assert config.reload_exclude == ("media",)
    assert config.reload_delay_ms == 0
    assert config.reload_poll is True


def test_options_not_given_leave_the_settings_alone() -> None:
    assert reload_options(parse()) == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reload-dir", "/no/such/directory"], "is not a directory"),
        (["--reload-delay", "soon"], "is not a number of milliseconds"),
        (["--reload-delay=-5"], "from 0 to 60000"),
    ],
)
def test_bad_options_are_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse(*argv)
