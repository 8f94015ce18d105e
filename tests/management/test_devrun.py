"""The command's HTTPS wiring without a TLS socket: the banner, the ready line and ``--version``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

import django
import pytest

import devserver
from devserver.backends.threaded import ThreadedBackend
from devserver.banner import STARTING
from devserver.conf import ServerConfig
from devserver.errors import ConfigurationError
from devserver.management.commands.devrun import Command


class PlainOnlyBackend(ThreadedBackend):
    """A backend that does not wrap its sockets (a plugin written before HTTPS, say)."""

    name: ClassVar[str] = "plain-only"
    serves_tls: ClassVar[bool] = False


def command(backend: type[ThreadedBackend], tmp_path: Path) -> tuple[Command, io.StringIO]:
    out = io.StringIO()
    cmd = Command(stdout=out)
    cmd.addr, cmd.port, cmd._raw_ipv6 = "127.0.0.1", "0", False
    cmd.ready_file = None
    cmd.backend_class = backend
    cmd.server_config = ServerConfig(cert_file=str(tmp_path / "dev.pem"))
    return cmd, out


def test_with_a_certificate_the_banner_and_ready_line_say_https(tmp_path: Path) -> None:
    cmd, out = command(ThreadedBackend, tmp_path)
    cmd.prepare_https()
    assert cmd.protocol == "https"
    cmd.on_bind(8443)
    readiness = cmd.announce_ready(8443)
    text = out.getvalue()
    assert "Created a self-signed certificate" in text
    assert f"{STARTING} https://127.0.0.1:8443/" in text
    assert readiness.url == "https://127.0.0.1:8443/"
    assert "devserver: ready url=https://127.0.0.1:8443/ " in text


def test_a_backend_that_cannot_wrap_its_sockets_is_refused(tmp_path: Path) -> None:
    cmd, _ = command(PlainOnlyBackend, tmp_path)
    with pytest.raises(ConfigurationError, match="The plain-only backend does not serve HTTPS"):
        cmd.prepare_https()
    assert cmd.protocol == "http"


def test_version_names_devserver_and_django(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Command().create_parser("manage.py", "devrun")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"devserver {devserver.__version__} (django-devrun), Django {django.get_version()}"
    )
