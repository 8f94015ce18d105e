"""runserver's addrport rules, plus a port range check."""

from __future__ import annotations

import pytest

from devserver.errors import ConfigurationError
from devserver.options import Address, parse_addrport, plus_options


def parse(addrport: str | None, *, use_ipv6: bool = False) -> Address:
    return parse_addrport(
        addrport, use_ipv6=use_ipv6, default_addr="127.0.0.1", default_addr_ipv6="::1", default_port="8000"
    )


@pytest.mark.parametrize(
    ("addrport", "use_ipv6", "expected"),
    [
        (None, False, Address("127.0.0.1", "8000", False, False)),
        ("8080", False, Address("127.0.0.1", "8080", False, False)),
        ("0:8000", False, Address("0", "8000", False, False)),
        ("0.0.0.0:9000", False, Address("0.0.0.0", "9000", False, False)),
        ("[::1]:8000", False, Address("::1", "8000", True, True)),
        ("localhost:7000", False, Address("localhost", "7000", False, False)),
        ("localhost:7000", True, Address("localhost", "7000", True, False)),
        (None, True, Address("::1", "8000", True, True)),
        ("8000", True, Address("::1", "8000", True, True)),
        ("127.0.0.1:0", False, Address("127.0.0.1", "0", False, False)),
    ],
)
def test_addrport_forms_match_runserver(addrport: str | None, use_ipv6: bool, expected: Address) -> None:
    assert parse(addrport, use_ipv6=use_ipv6) == expected


@pytest.mark.parametrize(
    ("addrport", "use_ipv6", "message"),
    [
        ("abc:", False, '"abc:" is not a valid port number or address:port pair.'),
        ("99999", False, "'99999' is not a valid port number (0-65535)."),
        ("1.2.3.4:65536", False, "'65536' is not a valid port number (0-65535)."),
        ("1.2.3.4:80", True, '"1.2.3.4" is not a valid IPv6 address.'),
    ],
)
def test_bad_addrport_is_one_line_error(addrport: str, use_ipv6: bool, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse(addrport, use_ipv6=use_ipv6)
    assert str(caught.value) == message


def test_plus_options_pass_what_was_given() -> None:
    options: dict[str, object] = {"cert_file": "dev.pem", "key_file": None, "print_sql": True, "debugger": True}
    assert plus_options(options, debug=True) == {"cert_file": "dev.pem", "print_sql": True}


def test_without_debug_the_sql_summary_is_off() -> None:
    assert plus_options({"print_sql": None}, debug=False) == {"sql_summary": False}
