"""--debugger's parts in-process: the loopback rule, and Django's handled exception reaching Werkzeug."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from werkzeug.test import Client

from devserver.debugger import EXCEPTION_KEY, ExceptionsToDebugger, banner_line, check_address, debugged, is_loopback
from devserver.errors import ConfigurationError


@pytest.mark.parametrize(
    ("addr", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0", False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.1", False),
        ("no-such-host.invalid", False),
    ],
)
def test_loopback_addresses(addr: str, loopback: bool) -> None:
    assert is_loopback(addr) is loopback


def test_a_public_address_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigurationError, match=r"'0\.0\.0\.0' is not a loopback address.*--debugger-allow-remote"):
        check_address("0", allow_remote=False)
    check_address("0", allow_remote=True)
    check_address("127.0.0.1", allow_remote=False)


def test_the_banner_line_shows_the_pin_or_says_there_is_none() -> None:
    assert banner_line("123-456-789").startswith("Debugger PIN: 123-456-789")
    assert "no PIN" in banner_line(None)


@pytest.fixture
def client(settings: Any) -> Client:
    settings.ALLOWED_HOSTS = ["localhost"]  # the test client's Host
    application = debugged(WSGIHandler(), allowed_hosts=["shop.test", "*"])
    return Client(application.application)


@pytest.mark.django_db  # Django's request_started handler checks the connections that are open
def test_an_exception_django_handled_reaches_the_debugger(client: Client) -> None:
    response = client.get("/error/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "RuntimeError: boom from testproject" in page
    assert re.search(r'SECRET = "\w+"', page)
    assert "Django Version" not in page  # not Django's technical 500 page


@pytest.mark.django_db
def test_other_responses_pass_through_untouched(client: Client) -> None:
    response = client.get("/hello/")
    assert response.status_code == 200
    assert response.get_data() == b"Hello, world!"
    assert client.get("/no-such-page/").status_code == 404


def test_allowed_hosts_are_trusted_by_the_console_except_the_wildcard() -> None:
    application = debugged(WSGIHandler(), allowed_hosts=["shop.test", "*"])
    assert application.application.trusted_hosts == [".localhost", "127.0.0.1", "shop.test"]  # type: ignore[attr-defined]


def test_without_an_exception_start_response_is_passed_on_at_once() -> None:
    calls: list[str] = []

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        calls.append("started")
        return [b"ok"]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        calls.append(status)
        return lambda data: None

    environ: dict[str, Any] = {}
    assert list(ExceptionsToDebugger(application)(environ, start_response)) == [b"ok"]
    assert calls == ["200 OK", "started"]
    assert EXCEPTION_KEY not in environ
