"""runserver parity: addrport forms, options and their one-line errors, the banner, checks,
static files and the access log, as the real command shows them.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import django
import pytest

import devserver
from devserver.backends import BACKENDS

from ..conftest import ServerFactory
from ..server import STARTING, DevrunProcess, fetch, run_devrun

HELLO = b"Hello, world!"
CSS = "/static/shop/site.css"
ACCESS_LINE = re.compile(
    r'^\[\d{2}/[A-Z][a-z]{2}/\d{4} \d{2}:\d{2}:\d{2}\] "GET /hello/ HTTP/1\.1" 200 13 \d+(\.\d+)?ms$'
)
PRODUCTION_WARNING = "WARNING: This is a development server. Do not use it in a production setting."


def free_port(host: str = "0.0.0.0") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def can_bind(family: socket.AddressFamily, address: tuple[str, int]) -> bool:
    try:
        with socket.socket(family) as probe:
            probe.bind(address)
    except OSError:
        return False
    return True


IPV6 = can_bind(socket.AF_INET6, ("::1", 0))
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="no IPv6 loopback on this machine")


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, *texts: str) -> str:
    """The command failed with ``status`` and one line on stderr that contains ``texts``."""
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in texts:
        assert text in lines[0]
    return lines[0]


def wait_for_hello_logged(server: DevrunProcess) -> str:
    """Request /hello/ and return its access line; everything printed before serving is in by then."""
    first_line = len(server.lines)
    assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
    return server.wait_for_line(lambda line: '"GET /hello/ HTTP/1.1"' in line, 10, start=first_line)


@pytest.fixture(scope="module")
def default_server(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    """``devrun 127.0.0.1:0 --noreload`` with nothing else."""
    server = start_server()
    yield server
    server.stop()


# -- addrport -----------------------------------------------------------------------------


def test_port_zero_binds_a_free_port_shown_in_the_banner(default_server: DevrunProcess) -> None:
    assert default_server.host == "127.0.0.1"
    assert default_server.port != 0
    assert f"{STARTING} http://127.0.0.1:{default_server.port}/" in default_server.output()
    assert fetch("127.0.0.1", default_server.port, "/hello/") == (200, HELLO)


def test_address_0_is_shown_as_0_0_0_0(start_server: ServerFactory) -> None:
    port = free_port()
    server = start_server(addrport=f"0:{port}")
    try:
        assert server.url == f"http://0.0.0.0:{port}/"
        assert fetch("127.0.0.1", port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


@needs_ipv6
def test_bracketed_ipv6_address_is_served(start_server: ServerFactory) -> None:
    server = start_server(addrport="[::1]:0")
    try:
        assert server.url == f"http://[::1]:{server.port}/"
        assert fetch("::1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


def test_host_name_is_shown_as_given(start_server: ServerFactory) -> None:
    server = start_server(addrport="localhost:0")
    try:
        assert server.url == f"http://localhost:{server.port}/"
        assert fetch("localhost", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


@needs_ipv6
def test_ipv6_option_with_a_port_uses_the_ipv6_loopback(start_server: ServerFactory) -> None:
    server = start_server("-6", addrport="0")
    try:
        assert server.url == f"http://[::1]:{server.port}/"
        assert fetch("::1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


@needs_ipv6
def test_ipv6_option_alone_serves_on_the_default_port(project_env: dict[str, str]) -> None:
    if not can_bind(socket.AF_INET6, ("::1", 8000)):
        pytest.skip("port 8000 is taken on ::1")
    server = DevrunProcess(["-6", "--noreload"], project_env)
    try:
        server.wait_ready()
        assert server.url == "http://[::1]:8000/"
        assert fetch("::1", 8000, "/hello/") == (200, HELLO)
    finally:
        server.stop()


@pytest.mark.parametrize(("addrport", "text"), [("99999", "'99999' is not a valid port number"), ("abc", '"abc"')])
def test_bad_addrport_is_a_one_line_usage_error(project_env: dict[str, str], addrport: str, text: str) -> None:
    assert_one_line_error(run_devrun([addrport, "--noreload"], project_env), 2, text)


def test_port_in_use_is_runserver_s_error(project_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_devrun([f"127.0.0.1:{taken.getsockname()[1]}", "--noreload"], project_env)
    assert assert_one_line_error(result, 1) == "Error: That port is already in use."


@pytest.mark.skipif(can_bind(socket.AF_INET, ("10.255.255.1", 0)), reason="10.255.255.1 is assignable here")
def test_address_not_on_this_machine_is_a_usage_error(project_env: dict[str, str]) -> None:
    result = run_devrun(["10.255.255.1:0", "--noreload"], project_env)
    assert assert_one_line_error(result, 2) == "Error: That IP address can't be assigned to."


# -- backends -----------------------------------------------------------------------------


@pytest.mark.skipif("single" not in BACKENDS, reason="the single backend is not registered yet")
def test_nothreading_selects_the_single_backend(start_server: ServerFactory) -> None:
    server = start_server("--nothreading")
    try:
        assert f"Serving WSGI with devserver {devserver.__version__}, single backend" in server.output()
        assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


def test_unknown_backend_lists_the_choices(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--backend", "nope"], project_env)
    assert_one_line_error(result, 2, "'nope'", *BACKENDS)


def test_backend_and_nothreading_conflict(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--backend", "threaded", "--nothreading"], project_env)
    assert_one_line_error(result, 2, "--nothreading", "threaded")


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ({"NOPE": 1}, "NOPE"),
        ({"KEEP_ALIVE_TIMEOUT": "5"}, "KEEP_ALIVE_TIMEOUT"),
        ({"MAX_CONNECTIONS": 0}, "MAX_CONNECTIONS"),
    ],
)
def test_bad_devserver_setting_is_a_one_line_error_naming_the_key(
    project_env: dict[str, str], setting: dict[str, object], key: str
) -> None:
    env = {**project_env, "TESTPROJECT_DEVSERVER": json.dumps(setting)}
    assert_one_line_error(run_devrun(["127.0.0.1:0", "--noreload"], env), 2, f"DEVSERVER['{key}']")


@pytest.mark.parametrize("reloader", [[], ["--noreload"]], ids=["reloader", "noreload"])
def test_debug_off_without_allowed_hosts_is_runserver_s_error_as_a_bad_setting(
    project_env: dict[str, str], reloader: list[str]
) -> None:
    """runserver's message; exit 2 as for every bad setting, and with the reloader too (its
    supervisor does not wait for a fix that is a setting)."""
    env = {**project_env, "TESTPROJECT_DEBUG": "0", "TESTPROJECT_ALLOWED_HOSTS": ""}
    result = run_devrun(["127.0.0.1:0", *reloader], env)
    assert_one_line_error(result, 2, "You must set settings.ALLOWED_HOSTS if DEBUG is False.")
    assert result.stdout == ""


# -- start-up output ----------------------------------------------------------------------


def test_banner_lines_come_in_runserver_s_order(default_server: DevrunProcess) -> None:
    lines = default_server.lines
    start = lines.index(f"{STARTING} http://127.0.0.1:{default_server.port}/")
    assert re.fullmatch(r"[A-Z][a-z]+ \d{2}, \d{4} - \d{2}:\d{2}:\d{2}", lines[start - 2])
    assert lines[start - 1] == f"Django version {django.get_version()}, using settings 'testproject.settings'"
    assert lines[start + 1] == f"Serving WSGI with devserver {devserver.__version__}, threaded backend"
    assert lines[start + 2] == "Quit the server with CONTROL-C."


def test_system_checks_run_before_serving(default_server: DevrunProcess) -> None:
    output = default_server.output()
    assert output.index("Performing system checks...") < output.index(STARTING)
    assert "System check identified no issues" in output
    assert "unapplied migration" not in output


def test_skip_checks_skips_the_system_checks(start_server: ServerFactory) -> None:
    server = start_server("--skip-checks")
    try:
        assert "Performing system checks" not in server.output()
    finally:
        server.stop()


def test_unapplied_migrations_are_reported(start_server: ServerFactory, tmp_path: Path) -> None:
    server = start_server(env={"TESTPROJECT_DB": str(tmp_path / "fresh.sqlite3")})
    try:
        output = server.output()
        assert "unapplied migration(s)" in output
        assert "Run 'python manage.py migrate' to apply them." in output
    finally:
        server.stop()


def test_production_warning_is_hidden_by_the_environment_variable(default_server: DevrunProcess) -> None:
    wait_for_hello_logged(default_server)
    assert PRODUCTION_WARNING not in default_server.output()


def test_production_warning_is_shown_by_default(start_server: ServerFactory) -> None:
    server = start_server(env={"DJANGO_RUNSERVER_HIDE_WARNING": "false"})
    try:
        wait_for_hello_logged(server)
        assert PRODUCTION_WARNING in server.output()
    finally:
        server.stop()


@pytest.mark.parametrize(("option", "coloured"), [("--force-color", True), ("--no-color", False)])
def test_colour_options_are_honoured(start_server: ServerFactory, option: str, coloured: bool) -> None:
    server = start_server(option, env={"DJANGO_RUNSERVER_HIDE_WARNING": "false"})
    try:
        assert fetch("127.0.0.1", server.port, "/missing/")[0] == 404
        wait_for_hello_logged(server)
        assert ("\x1b[" in server.output()) is coloured
    finally:
        server.stop()


# -- static files and the access log ------------------------------------------------------


def test_static_files_are_served_with_debug_on(default_server: DevrunProcess) -> None:
    assert fetch("127.0.0.1", default_server.port, CSS)[0] == 200


def test_nostatic_leaves_static_files_unserved(start_server: ServerFactory) -> None:
    server = start_server("--nostatic")
    try:
        assert fetch("127.0.0.1", server.port, CSS)[0] == 404
        assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


@pytest.mark.parametrize(("options", "status"), [((), 404), (("--insecure",), 200)])
def test_debug_off_serves_static_files_only_with_insecure(
    start_server: ServerFactory, options: tuple[str, ...], status: int
) -> None:
    env = {"TESTPROJECT_DEBUG": "0", "TESTPROJECT_ALLOWED_HOSTS": "127.0.0.1"}
    server = start_server(*options, env=env)
    try:
        assert fetch("127.0.0.1", server.port, CSS)[0] == status
        assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


def test_access_log_line_has_runserver_s_format(default_server: DevrunProcess) -> None:
    line = wait_for_hello_logged(default_server)
    assert ACCESS_LINE.match(line), line
