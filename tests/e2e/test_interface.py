"""Choosing WSGI or ASGI: ``ASGI_APPLICATION``, ``--asgi``, ``--wsgi``, backends that do not fit,
and everything else of the command (banner, static files, checks, --check) under ASGI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import devserver

from ..conftest import ServerFactory
from ..server import ASGI_PROJECT_ENV, DevrunProcess, fetch, run_devrun
from .test_command import CSS, HELLO, assert_one_line_error


@pytest.fixture(scope="module")
def asgi_project(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    """The async test project with nothing but its settings: ASGI_APPLICATION picks the interface."""
    server = start_server(env=ASGI_PROJECT_ENV)
    yield server
    server.stop()


def serving_line(server: DevrunProcess) -> str:
    return next(line for line in server.lines if line.startswith("Serving "))


def test_asgi_application_setting_serves_asgi_on_the_asyncio_backend(asgi_project: DevrunProcess) -> None:
    assert serving_line(asgi_project).startswith(
        f"Serving ASGI with devserver {devserver.__version__}, asyncio backend on "
    )
    ready = asgi_project.wait_for_line(lambda line: line.startswith("devserver: ready"))
    assert ready.endswith("backend=asyncio")
    assert fetch("127.0.0.1", asgi_project.port, "/hello-async/") == (200, HELLO)
    assert fetch("127.0.0.1", asgi_project.port, "/hello/") == (200, HELLO)


def test_wsgi_option_serves_wsgi_despite_the_setting(start_server: ServerFactory) -> None:
    server = start_server("--wsgi", env=ASGI_PROJECT_ENV)
    try:
        assert serving_line(server) == f"Serving WSGI with devserver {devserver.__version__}, threaded backend"
        assert fetch("127.0.0.1", server.port, "/hello-async/") == (200, HELLO)  # Django runs it for WSGI too
    finally:
        server.stop()


def test_asgi_option_serves_djangos_asgi_handler_without_the_setting(start_server: ServerFactory) -> None:
    server = start_server("--asgi")
    try:
        assert serving_line(server).startswith(f"Serving ASGI with devserver {devserver.__version__}, asyncio backend")
        assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
        assert fetch("127.0.0.1", server.port, CSS)[0] == 200  # through ASGIStaticFilesHandler
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "env", "texts"),
    [
        (["--backend", "threaded"], ASGI_PROJECT_ENV, ["threaded backend serves WSGI", "ASGI_APPLICATION is set"]),
        (["--nothreading"], ASGI_PROJECT_ENV, ["single backend serves WSGI"]),
        (["--backend", "asyncio"], {}, ["asyncio backend serves ASGI", "--asgi"]),
        (["--wsgi", "--backend", "asyncio"], ASGI_PROJECT_ENV, ["asyncio backend serves ASGI"]),
    ],
    ids=["threaded-for-asgi", "nothreading-for-asgi", "asyncio-for-wsgi", "asyncio-with-wsgi-option"],
)
def test_backend_of_the_other_interface_is_a_one_line_error(
    project_env: dict[str, str], args: list[str], env: dict[str, str], texts: list[str]
) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", *args], {**project_env, **env})
    assert_one_line_error(result, 2, *texts)


def test_asgi_and_wsgi_options_together_are_refused(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--asgi", "--wsgi"], project_env)
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def test_asgi_application_that_cannot_be_imported_is_a_one_line_error(project_env: dict[str, str]) -> None:
    env = {**project_env, **ASGI_PROJECT_ENV, "TESTPROJECT_ASGI_APPLICATION": "testproject.nowhere.application"}
    assert_one_line_error(run_devrun(["127.0.0.1:0", "--noreload"], env), 2, "testproject.nowhere.application")


@pytest.mark.parametrize(
    ("options", "debug", "status"),
    [((), "1", 200), (("--nostatic",), "1", 404), ((), "0", 404), (("--insecure",), "0", 200)],
)
def test_static_files_under_asgi_follow_runserver_s_rules(
    start_server: ServerFactory, options: tuple[str, ...], debug: str, status: int
) -> None:
    env = {**ASGI_PROJECT_ENV, "TESTPROJECT_DEBUG": debug, "TESTPROJECT_ALLOWED_HOSTS": "127.0.0.1"}
    server = start_server(*options, env=env)
    try:
        assert fetch("127.0.0.1", server.port, CSS)[0] == status
        assert fetch("127.0.0.1", server.port, "/hello/") == (200, HELLO)
    finally:
        server.stop()


def test_check_mode_works_under_asgi(project_env: dict[str, str]) -> None:
    env = {**project_env, **ASGI_PROJECT_ENV}
    result = run_devrun(["--check", "/hello-async/", "/chat/", CSS], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/hello-async/" in result.stdout
    assert "Performing system checks" in result.stdout


def test_check_mode_fails_on_a_500_under_asgi(project_env: dict[str, str]) -> None:
    env = {**project_env, **ASGI_PROJECT_ENV}
    result = run_devrun(["--check", "/error/"], env)
    assert result.returncode == 1
    assert "RuntimeError" in result.stdout
