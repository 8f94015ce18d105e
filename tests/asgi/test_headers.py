"""Checks on ``http.response.start``."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.asgi.headers import InvalidMessageError, StartChecker


def start(*headers: Any, status: Any = 200) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def test_good_headers_become_wire_lines() -> None:
    checked = StartChecker().check(start((b"Content-Type", b"text/plain"), (b"X-A", b"1")))
    assert checked.status == 200
    assert checked.header_lines == b"Content-Type: text/plain\r\nX-A: 1\r\n"
    assert (checked.content_length, checked.wants_close, checked.has_date, checked.has_server) == (
        None,
        False,
        False,
        False,
    )


def test_content_length_connection_date_and_server_are_noticed() -> None:
    checked = StartChecker().check(
        start((b"content-length", b"5"), (b"Connection", b"close"), (b"date", b"x"), (b"Server", b"me"))
    )
    assert checked.content_length == 5
    assert checked.wants_close
    assert (checked.has_date, checked.has_server) == (True, True)
    assert b"content-length" not in checked.header_lines.lower()  # the framer writes it
    assert b"connection" not in checked.header_lines.lower()  # the server owns it


def test_framing_headers_of_the_application_are_dropped() -> None:
    checked = StartChecker().check(start((b"Transfer-Encoding", b"chunked"), (b"Keep-Alive", b"timeout=5")))
    assert checked.header_lines == b""


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (start(status="200"), "Invalid status"),
        (start(status=99), "Invalid status"),
        (start(("content-type", "text/plain")), "Invalid header name"),
        (start((b"bad name", b"x")), "Invalid header name"),
        (start((b"x", b"a\r\nb")), "Invalid value"),
        (start((b"x", "str")), "Invalid value"),
        (start((b"x",)), r"not a \(name, value\) pair"),
        (start((b"content-length", b"-1")), "Invalid Content-Length"),
        (start((b"content-length", b"1"), (b"content-length", b"2")), "Two different"),
        ({"type": "http.response.start", "status": 200, "trailers": True}, "trailers"),
    ],
)
def test_bad_starts_raise_naming_the_problem(message: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidMessageError, match=text):
        StartChecker().check(message)


def test_a_remembered_line_is_not_reused_for_a_lookalike_of_another_type() -> None:
    checker = StartChecker()
    checker.check(start((b"x", b"1")))
    with pytest.raises(InvalidMessageError):
        checker.check(start((bytearray(b"x "), b"1")))
