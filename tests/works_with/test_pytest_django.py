"""pytest-django beside devserver's pytest plugin: pytest-django's ``live_server`` and devserver's
``devrun_server`` in one session (and in one test), with pytest-django's database fixtures.

https://pytest-django.readthedocs.io/en/latest/helpers.html#live-server
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..e2e.test_pytest_plugin import run_suite, write_suite

pytest.importorskip("pytest_django")

SUITE = """\
import urllib.request

import pytest


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_live_server_alone(live_server):
    assert fetch(live_server.url + "/hello/") == (200, b"Hello, world!")


def test_both_servers_in_one_test(live_server, devrun_server):
    assert fetch(live_server.url + "/json/") == (200, devrun_server.get("/json/").body)
    assert live_server.url != devrun_server.url.rstrip("/")
    assert "devserver/" in devrun_server.get("/hello/").headers["server"]


@pytest.mark.django_db
def test_pytest_djangos_database_beside_devrun_server(devrun_server, django_user_model):
    django_user_model.objects.create_user("ada", password="x")  # pytest-django's test database
    assert django_user_model.objects.count() == 1
    assert devrun_server.get("/admin/login/").status == 200  # the server has its own database


def test_devrun_server_is_the_same_after_live_server_tests(devrun_server, live_server):
    assert devrun_server.get("/hello/").text == "Hello, world!"
    assert fetch(live_server.url + "/hello/")[0] == 200
"""


@pytest.mark.slow
def test_live_server_and_devrun_server_in_one_session(project_env: dict[str, str], tmp_path: Path) -> None:
    write_suite(tmp_path, SUITE)
    result, _ = run_suite(tmp_path, project_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "4 passed" in result.stdout, output
