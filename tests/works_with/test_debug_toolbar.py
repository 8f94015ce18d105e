"""django-debug-toolbar under devrun: the toolbar renders on a page, and the requests its panels
make (each panel's content, the toolbar's own static files) are served.

https://django-debug-toolbar.readthedocs.io/en/latest/installation.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from ..server import DevrunProcess
from .project import Variant, get

pytest.importorskip("debug_toolbar")

SETTINGS = """\
INSTALLED_APPS = [*INSTALLED_APPS, "debug_toolbar"]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE]
INTERNAL_IPS = ["127.0.0.1"]
# The toolbar turns itself off under a test runner (it sees PYTEST_VERSION); a developer's
# devrun is not one.
DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False}
"""
URLS = """\
from django.urls import include, path

urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))
"""
#: The toolbar's id for one rendered request: ``data-request-id`` (older versions: ``data-store-id``).
REQUEST_ID = re.compile(rb'data-(request|store)-id="([0-9a-f]+)"')
PANEL = re.compile(rb'<div id="(\w+Panel)" class="djdt-panelContent')
STATIC = re.compile(rb'(?:src|href)="(/static/debug_toolbar/[^"]+)"')


@pytest.fixture
def server(make_variant: Callable[..., Variant]) -> DevrunProcess:
    return make_variant("debug_toolbar", SETTINGS, URLS).devrun()


def test_the_toolbar_renders_and_every_panel_loads(server: DevrunProcess) -> None:
    page = get(server, "/")
    assert page.status == 200
    assert b'id="djDebug"' in page.body
    found = REQUEST_ID.search(page.body)
    assert found is not None, page.body[-3000:]
    kind, request_id = found[1].decode(), found[2].decode()
    panels = [name.decode() for name in PANEL.findall(page.body)]
    assert {"SQLPanel", "TemplatesPanel", "RequestPanel"} <= set(panels)
    for panel in panels:
        response = get(server, f"/__debug__/render_panel/?{kind}_id={request_id}&panel_id={panel}")
        assert response.status == 200, (panel, response.body[:500])
        content = json.loads(response.body)["content"]
        assert "isn't available anymore" not in content, panel
    templates = get(server, f"/__debug__/render_panel/?{kind}_id={request_id}&panel_id=TemplatesPanel")
    assert "shop/index.html" in json.loads(templates.body)["content"]


def test_the_toolbars_static_files_are_served(server: DevrunProcess) -> None:
    assets = STATIC.findall(get(server, "/").body)
    assert assets
    for asset in assets:
        assert get(server, asset.decode()).status == 200, asset
