"""HTTPS end to end: every test here runs on each backend that serves TLS."""

from __future__ import annotations

import pytest

from devserver.backends import BACKENDS, resolve_backend

#: The backends that serve HTTPS (devrun refuses --cert-file with the others).
TLS_BACKENDS = sorted(name for name in BACKENDS if getattr(resolve_backend(name), "serves_tls", False))


@pytest.fixture(scope="session", params=TLS_BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The suite's ``backend_name``, narrowed to the backends that serve HTTPS."""
    return str(request.param)
