"""Choosing the interface, and which backends can serve it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from devserver.backends import resolve_backend
from devserver.errors import ConfigurationError
from devserver.interface import ASGI, WSGI, check_backend, choose_interface


def test_wsgi_unless_asgi_application_is_set() -> None:
    with override_settings(ASGI_APPLICATION=None):
        assert choose_interface() == WSGI
    with override_settings(ASGI_APPLICATION="testproject.asgi.application"):
        assert choose_interface() == ASGI


def test_options_win_over_the_setting() -> None:
    with override_settings(ASGI_APPLICATION="testproject.asgi.application"):
        assert choose_interface(force_wsgi=True) == WSGI
    with override_settings(ASGI_APPLICATION=None):
        assert choose_interface(force_asgi=True) == ASGI


def test_both_options_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="--asgi and --wsgi"):
        choose_interface(force_asgi=True, force_wsgi=True)


@pytest.mark.parametrize(("name", "interface"), [("threaded", WSGI), ("single", WSGI), ("asyncio", ASGI)])
def test_each_backend_serves_its_interface(name: str, interface: str) -> None:
    check_backend(resolve_backend(name), name, interface)
    other = ASGI if interface == WSGI else WSGI
    with pytest.raises(ConfigurationError, match=f"The {name} backend serves {interface.upper()}"):
        check_backend(resolve_backend(name), name, other)
