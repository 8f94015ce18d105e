"""What the supervisor and its child tell each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devserver.conf import ServerConfig
from devserver.reload.handoff import (
    READY,
    RELOAD_REASON_ENV,
    RELOAD_STARTED_ENV,
    ReloadNote,
    config_from_message,
    config_message,
    decode_messages,
    describe_change,
    encode_message,
    note_from_message,
    restart_message,
    spares_from_message,
)


def test_a_reload_note_survives_the_environment() -> None:
    note = ReloadNote("shop/views.py changed", 1700000000.123456)
    assert ReloadNote.from_environ(note.to_environ()) == note


def test_a_first_start_has_no_note() -> None:
    assert ReloadNote.from_environ({}) is None
    assert ReloadNote.from_environ({RELOAD_REASON_ENV: "x changed", RELOAD_STARTED_ENV: "soon"}) is None


def test_the_summary_says_what_changed_and_how_long_it_took() -> None:
    note = ReloadNote("shop/views.py changed", started=100.0)
    assert note.summary(now=100.412) == "shop/views.py changed, reloaded in 412 ms"


def test_messages_round_trip_and_garbage_is_skipped() -> None:
    note = ReloadNote("a.py changed", 5.5)
    data = encode_message(READY) + b"not json\n" + b'["no", "event"]\n' + restart_message(note)
    messages = list(decode_messages(data))
    assert [message["event"] for message in messages] == ["ready", "restart"]
    assert note_from_message(messages[1]) == note
    assert note_from_message({"event": "restart"}) is None


def test_changes_are_described_relative_to_the_working_directory() -> None:
    cwd = Path("/srv/project")
    assert describe_change(cwd / "shop" / "views.py", cwd=cwd) == "shop/views.py changed"
    assert describe_change(Path("/elsewhere/x.py"), 20, cwd=cwd) == "/elsewhere/x.py changed (and 19 more)"


def test_a_childs_configuration_round_trips() -> None:
    config = ServerConfig(shutdown_timeout=0.5, reload_include=("*.cfg",), reload_poll=True, reload_delay_ms=7)
    [message] = decode_messages(config_message(config, spares=False))
    assert config_from_message(message) == config
    assert spares_from_message(message) is False
    [message] = decode_messages(config_message(ServerConfig(), spares=True))
    assert spares_from_message(message) is True


@pytest.mark.parametrize(
    "fields",
    [None, "shutdown_timeout", {"no_such_field": 1}, {"shutdown_timeout": "5"}, {"reload_dirs": [1, 2]}],
)
def test_a_malformed_configuration_is_ignored(fields: Any) -> None:
    assert config_from_message({"event": "config", "config": fields}) is None
