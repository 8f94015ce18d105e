"""``start_response`` checks: what the application may say, and what it may not."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.wsgi.headers import MEMORY_SIZE, InvalidResponseError, ResponseStart, StartValidator

TEXT = ("Content-Type", "text/plain")


def validate_start(status: Any, headers: Any) -> ResponseStart:
    """One check by a validator that remembers nothing yet."""
    return StartValidator().validate(status, headers)


def test_valid_start_is_kept_with_what_the_server_needs_to_know() -> None:
    start = validate_start("404 Not Found", [TEXT, ("Content-Length", "12"), ("X-Extra", "a\tb")])
    assert start.status == "404 Not Found"
    assert start.status_code == 404
    assert start.headers == [TEXT, ("Content-Length", "12"), ("X-Extra", "a\tb")]
    assert start.content_length == 12
    assert not start.wants_close
    assert not start.has_date
    assert not start.has_server


def test_date_and_server_from_the_application_are_noticed() -> None:
    start = validate_start("200 OK", [("date", "Mon, 01 Jan 2024 00:00:00 GMT"), ("SERVER", "mine")])
    assert start.has_date
    assert start.has_server


@pytest.mark.parametrize(("value", "wants_close"), [("close", True), ("Close", True), ("keep-alive", False)])
def test_connection_header_is_the_server_s_to_send(value: str, wants_close: bool) -> None:
    start = validate_start("200 OK", [TEXT, ("Connection", value)])
    assert start.wants_close is wants_close
    assert start.headers == [TEXT]


@pytest.mark.parametrize("status", ["200 OK", "201 ", "599 Custom reason", "200 Caf\xe9", "100 Continue"])
def test_good_statuses_pass(status: str) -> None:
    assert validate_start(status, []).status == status


@pytest.mark.parametrize(
    "status",
    [
        *["20 OK", "2000 OK", "200OK", "200", "600 Too High", "099 Low", "abc OK"],
        *["200 OK\r\nX-Injected: yes", "200 OK\n", "200 snow \u2603", b"200 OK", 200, None],
    ],
)
def test_bad_status_is_refused_and_named(status: Any) -> None:
    with pytest.raises(InvalidResponseError, match="Invalid status"):
        validate_start(status, [])


@pytest.mark.parametrize(
    "headers",
    [
        (TEXT,),
        [["Content-Type", "text/plain"]],
        [("Content-Type", "text/plain", "extra")],
        [(b"Content-Type", "text/plain")],
        [("Content-Type", b"text/plain")],
        [("Bad Name", "v")],
        [("Bad:Name", "v")],
        [("", "v")],
        [("X-Bad", "a\r\nX-Injected: yes")],
        [("X-Bad", "a\nb")],
        [("X-Bad", "a\x00b")],
        [("X-Bad", "snowman \u2603")],
        [("Content-Length", "abc")],
        [("Content-Length", "-1")],
    ],
)
def test_bad_headers_are_refused(headers: Any) -> None:
    with pytest.raises(InvalidResponseError):
        validate_start("200 OK", headers)


@pytest.mark.parametrize("name", ["Transfer-Encoding", "keep-alive", "Upgrade", "TE", "Trailer", "Proxy-Authenticate"])
def test_hop_by_hop_headers_are_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidResponseError, match=name):
        validate_start("200 OK", [(name, "x")])


def test_error_names_the_bad_header_value() -> None:
    with pytest.raises(InvalidResponseError, match="X-Bad"):
        validate_start("200 OK", [TEXT, ("X-Bad", "a\r\nb")])


def test_content_length_with_a_non_ascii_digit_is_invalid() -> None:
    with pytest.raises(InvalidResponseError, match="Content-Length"):
        validate_start("200 OK", [("Content-Length", "\u00b2")])


def test_a_validator_remembers_good_lines_but_still_checks_each_new_one() -> None:
    validator = StartValidator()
    first = validator.validate("200 OK", [TEXT, ("Content-Length", "5")])
    again = validator.validate("200 OK", [TEXT, ("Content-Length", "7")])
    assert (first.content_length, again.content_length) == (5, 7)
    assert again.headers == [TEXT, ("Content-Length", "7")]
    with pytest.raises(InvalidResponseError, match="Content-Type"):
        validator.validate("200 OK", [("Content-Type", "text/plain\r\nX-Injected: yes")])
    for header in [("Content-Length", "5\r\n"), ("Content-Length", "\r\n5"), ("Connection", "close\r\nX-I: y")]:
        with pytest.raises(InvalidResponseError, match=header[0]):
            validator.validate("200 OK", [header])
    with pytest.raises(InvalidResponseError, match="Invalid status"):
        validator.validate("200 OK\r\n", [TEXT])


@pytest.mark.parametrize("header", [["Content-Type", "text/plain"], ("X-List", ["not", "a", "str"])])
def test_unhashable_headers_are_refused_not_crashed_on(header: Any) -> None:
    validator = StartValidator()
    validator.validate("200 OK", [TEXT])
    with pytest.raises(InvalidResponseError, match="Invalid header"):
        validator.validate("200 OK", [header])


class Markup(str):
    """A str subclass, as Django's SafeString is."""


def test_a_str_subclass_is_refused_whatever_was_remembered_before() -> None:
    validator = StartValidator()
    validator.validate("200 OK", [("X-A", "v")])
    for header in [("X-A", Markup("v")), (Markup("X-A"), "v")]:
        with pytest.raises(InvalidResponseError, match="Invalid header"):
            validator.validate("200 OK", [header])
    with pytest.raises(InvalidResponseError, match="Invalid status"):
        validator.validate(Markup("200 OK"), [])


def test_what_a_validator_remembers_is_bounded() -> None:
    validator = StartValidator()
    for number in range(MEMORY_SIZE + 10):
        validator.validate(f"{200 + number % 300} Status {number}", [("X-Seen", str(number))])
    assert len(validator._statuses) == MEMORY_SIZE
    assert len(validator._ordinary) == MEMORY_SIZE
    assert validator.validate("200 OK", [("X-Seen", "late")]).headers == [("X-Seen", "late")]
