"""A real browser (headless Chromium from Debian's packages, driven by Selenium) through devrun:
the test project's pages, the admin and static files load with no failed request, and
django-browser-reload refreshes the page after a template edit.

CI installs ``chromium`` and ``chromium-driver`` (see ``.ci/run``); elsewhere the test is
skipped when they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..server import DevrunProcess
from .project import DEADLINE, Variant, edit
from .test_browser_reload import SETTINGS, URLS

webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("django_browser_reload")

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must install chromium and chromium-driver (apt-get, in .ci/run)")
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

#: No network here but loopback: nothing may reach out, and every run starts from a blank profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--window-size=1280,900",
)
ADMIN_PASSWORD = "works-with-admin"
#: Browsers ask for /favicon.ico on their own; a project without one would log a 404.
FAVICON = """
from django.templatetags.static import static
from django.views.generic import RedirectView

urlpatterns.append(path("favicon.ico", RedirectView.as_view(url=static("shop/logo.png"))))
"""
#: Every resource the page loaded, with its status (Chromium's Resource Timing has ``responseStatus``).
RESOURCES = """
return performance.getEntriesByType("resource").map(
    entry => ({name: entry.name, status: entry.responseStatus, type: entry.initiatorType})
);
"""
#: Each stylesheet of the page and how many rules it has: none when it did not load.
STYLESHEETS = """
return Object.fromEntries([...document.styleSheets].filter(sheet => sheet.href).map(
    sheet => [new URL(sheet.href).pathname, sheet.cssRules.length]
));
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(DEADLINE)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def project(make_variant: Callable[..., Variant]) -> Variant:
    variant = make_variant("browser", SETTINGS, URLS + FAVICON)
    env = {**variant.env, "DJANGO_SETTINGS_MODULE": variant.settings, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "admin", "--email", "a@b.test"],
        cwd=variant.root,
        env=env,
        check=False,  # the session's database may have the user from an earlier test
        capture_output=True,
        timeout=DEADLINE * 2,
    )
    return variant


def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling the browser's state: there is no event to wait on


def assert_nothing_failed(driver: Any, server: DevrunProcess) -> list[dict[str, Any]]:
    """Every resource of the current page has a 2xx/3xx status, and the console has no error."""
    resources: list[dict[str, Any]] = driver.execute_script(RESOURCES)
    failed = [r for r in resources if r["type"] != "other" and not 200 <= r["status"] < 400]
    assert failed == [], failed
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors
    return resources


def test_pages_admin_and_static_files_load_with_no_failed_request(browser: Any, project: Variant) -> None:
    server = project.devrun()
    base = f"http://127.0.0.1:{server.port}"
    browser.get(base + "/")
    assert browser.find_element("tag name", "h1").text == "devserver test project"
    assert_nothing_failed(browser, server)
    assert browser.execute_script(STYLESHEETS)["/static/shop/site.css"] > 0
    assert browser.execute_script("return document.querySelector('img').naturalWidth") == 32

    browser.get(base + "/admin/login/")
    assert_nothing_failed(browser, server)
    assert browser.execute_script(STYLESHEETS)["/static/admin/css/base.css"] > 0
    browser.find_element("name", "username").send_keys("admin")
    browser.find_element("name", "password").send_keys(ADMIN_PASSWORD)
    browser.find_element("css selector", "input[type=submit]").click()
    wait_until(lambda: browser.current_url == base + "/admin/", "the admin index after logging in")
    assert "Site administration" in browser.title
    assert_nothing_failed(browser, server)

    for path in ("/hello/", "/json/", "/echo/"):
        browser.get(base + path)
        assert_nothing_failed(browser, server)


def test_browser_reload_refreshes_the_page_after_a_template_edit(browser: Any, project: Variant) -> None:
    server = project.devrun(reload=True)
    base = f"http://127.0.0.1:{server.port}"
    browser.get(base + "/")
    # The page starts its SharedWorker; a reload event set before the worker's stream connects
    # waits for it on the server, so the worker's script being fetched is enough to go on.
    wait_until(lambda: any("reload-worker.js" in line for line in server.lines), "the reload worker to start")
    browser.execute_script("window.beforeTheEdit = true")
    edit(project.root / "shop" / "templates" / "shop" / "index.html", "devserver test project", "edited in place")
    wait_until(lambda: browser.execute_script("return window.beforeTheEdit === undefined"), "the page to be reloaded")
    assert browser.find_element("tag name", "h1").text == "edited in place"
    assert_nothing_failed(browser, server)
