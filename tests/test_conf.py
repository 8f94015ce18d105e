"""The DEVSERVER setting, validated from its table."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.conf import SETTINGS, ServerConfig, load_config
from devserver.errors import ConfigurationError


def test_every_setting_maps_to_a_config_field() -> None:
    assert {field for field, _ in SETTINGS.values()} <= set(ServerConfig._fields)


def test_missing_setting_gives_defaults() -> None:
    assert load_config(None) == ServerConfig()


def test_values_are_taken_and_normalised() -> None:
    config = load_config({"BACKEND": "single", "KEEP_ALIVE_TIMEOUT": 2, "MAX_CONNECTIONS": 7})
    assert config.backend == "single"
    assert config.keep_alive_timeout == 2.0
    assert config.max_connections == 7


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"NOPE": 1}, "Unknown setting DEVSERVER['NOPE']"),
        ({"MAX_CONNECTIONS": 0}, "DEVSERVER['MAX_CONNECTIONS'] must be a positive integer, not 0"),
        ({"MAX_CONNECTIONS": True}, "DEVSERVER['MAX_CONNECTIONS'] must be a positive integer"),
        ({"KEEP_ALIVE_TIMEOUT": "5"}, "DEVSERVER['KEEP_ALIVE_TIMEOUT'] must be a positive number of seconds"),
        ({"SHUTDOWN_TIMEOUT": -1}, "DEVSERVER['SHUTDOWN_TIMEOUT'] must be a number of seconds, 0 or more"),
        ({"BACKEND": ""}, "DEVSERVER['BACKEND'] must be a non-empty string"),
        ({"CERT_FILE": ""}, "DEVSERVER['CERT_FILE'] must be a file path (a non-empty string)"),
        ({"KEY_FILE": 3}, "DEVSERVER['KEY_FILE'] must be a file path"),
        ({"SQL_SUMMARY": "yes"}, "DEVSERVER['SQL_SUMMARY'] must be True or False"),
        ({"SQL_N_PLUS_ONE": 1}, "DEVSERVER['SQL_N_PLUS_ONE'] must be a number of queries, 2 or more"),
        ({"SQL_N_PLUS_ONE": -5}, "DEVSERVER['SQL_N_PLUS_ONE'] must be a number of queries"),
        ({"PRINT_SQL": 1}, "DEVSERVER['PRINT_SQL'] must be True or False"),
        ({"WEBSOCKET_MAX_MESSAGE_SIZE": 0}, "DEVSERVER['WEBSOCKET_MAX_MESSAGE_SIZE'] must be a positive integer"),
        ({"WEBSOCKET_IDLE_TIMEOUT": -1}, "DEVSERVER['WEBSOCKET_IDLE_TIMEOUT'] must be a number of seconds, 0 or more"),
        ({"EVENT_LOOP": "trio"}, 'DEVSERVER[\'EVENT_LOOP\'] must be "auto", "asyncio" or "uvloop"'),
        ([("BACKEND", "single")], "settings.DEVSERVER must be a dict, not list"),
    ],
)
def test_bad_values_name_the_setting(setting: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(setting)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_command_line_options_override_settings() -> None:
    config = load_config({"BACKEND": "single", "SHUTDOWN_TIMEOUT": 9}).with_options(backend=None, shutdown_timeout=1.0)
    assert config.backend == "single"
    assert config.shutdown_timeout == 1.0


def test_runserver_plus_settings_are_taken() -> None:
    config = load_config(
        {"CERT_FILE": "dev.pem", "KEY_FILE": "dev.key", "SQL_SUMMARY": False, "SQL_N_PLUS_ONE": 0, "PRINT_SQL": True}
    )
    assert (config.cert_file, config.key_file) == ("dev.pem", "dev.key")
    assert (config.sql_summary, config.sql_n_plus_one, config.print_sql) == (False, 0, True)


def test_sql_summary_is_on_by_default_and_https_off() -> None:
    config = ServerConfig()
    assert config.sql_summary
    assert config.sql_n_plus_one == 10
    assert config.cert_file is None
