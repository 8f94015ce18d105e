"""WhiteNoise under devrun: its middleware serves static files with its own headers, and its
``whitenoise.runserver_nostatic`` app, listed before staticfiles, leaves static files to it under
devrun exactly as under runserver.

https://whitenoise.readthedocs.io/en/stable/django.html
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .project import Variant, get

pytest.importorskip("whitenoise")

MIDDLEWARE_ONLY = """\
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
"""
#: What WhiteNoise's documentation asks for in development.
NOSTATIC = (
    MIDDLEWARE_ONLY
    + """\
INSTALLED_APPS = [
    *INSTALLED_APPS[: INSTALLED_APPS.index("django.contrib.staticfiles")],
    "whitenoise.runserver_nostatic",
    *INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.staticfiles") :],
]
"""
)
CSS = "/static/shop/site.css"


def served_by_whitenoise(headers: dict[str, str]) -> bool:
    """Headers that WhiteNoise adds and Django's static file handler does not."""
    return headers.get("access-control-allow-origin") == "*" and "max-age=" in headers.get("cache-control", "")


def test_with_runserver_nostatic_whitenoise_serves_static_files_under_devrun(
    make_variant: Callable[..., Variant],
) -> None:
    server = make_variant("whitenoise", NOSTATIC).devrun()
    response = get(server, CSS)
    assert response.status == 200
    assert b"body" in response.body
    assert served_by_whitenoise(response.headers), response.headers
    assert get(server, "/static/admin/css/base.css").status == 200  # an app's static files too
    assert get(server, "/static/shop/missing.css").status == 404


def test_nostatic_on_the_command_line_leaves_static_files_to_whitenoise_too(
    make_variant: Callable[..., Variant],
) -> None:
    server = make_variant("whitenoise", MIDDLEWARE_ONLY).devrun("--nostatic")
    response = get(server, CSS)
    assert response.status == 200
    assert served_by_whitenoise(response.headers), response.headers


@pytest.mark.parametrize(("settings", "by_whitenoise"), [(NOSTATIC, True), (MIDDLEWARE_ONLY, False)])
def test_devrun_serves_static_files_as_runserver_does(
    make_variant: Callable[..., Variant], settings: str, by_whitenoise: bool
) -> None:
    """Without runserver_nostatic, runserver's static handler answers /static/ before any
    middleware runs: devrun's does too."""
    project = make_variant("whitenoise", settings)
    runserver = get(project.runserver(), CSS)
    devrun = get(project.devrun(), CSS)
    assert (runserver.status, devrun.status) == (200, 200)
    assert served_by_whitenoise(runserver.headers) is by_whitenoise
    assert served_by_whitenoise(devrun.headers) is by_whitenoise
    assert devrun.body == runserver.body
