"""The warm spare end to end: every kind of change is served as a fresh process would serve it.

Each test runs a real reloading ``devrun`` (``-v 2``, which says when a spare is set up and
why one is not used) in a temporary copy of the test project, waits for the spare to be set
up before it changes anything (so the spare's judgement is what is tested), and checks the
answer of the new code. ``/spare/`` tells whether the serving process was a set-up spare.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devserver.readiness import READY_LINE_PREFIX

from ..server import REPO, DevrunProcess
from .test_reload import DEADLINE, Reloading, copy_project, edit

PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")
WARM = "devserver: a warm spare set Django up"
NOT_USED = "devserver: the warm spare is not used: "
PROBES = '''
import json
import os
import signal
import sys
import threading

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def spare(request: HttpRequest) -> HttpResponse:
    """How this process started: a spare paused at the end of django.setup(), a spare with
    Django imported, or fresh."""
    if "devserver.reload.preload" in sys.modules:
        return HttpResponse("set up")
    return HttpResponse("imported" if "devserver.reload.spare" in sys.modules else "fresh")


def value(request: HttpRequest, name: str) -> HttpResponse:
    """A value some module computed when it was imported (or a setting)."""
    if name == "setting":
        return HttpResponse(str(getattr(settings, "SPARE_TEST", "unset")))
    if name == "ready":
        from shop import apps

        return HttpResponse(str(apps.READY_VALUE))
    if name == "plugin":
        from shop import plugins

        return HttpResponse(str(plugins.VALUE))
    if name == "installed":
        from shop import apps

        return HttpResponse(str(apps.INSTALLED))
    if name == "fields":
        from shop.models import Note

        return HttpResponse(",".join(field.name for field in Note._meta.get_fields()))
    if name == "editable":
        import edpkg

        return HttpResponse(str(edpkg.VALUE))
    if name == "library-migration":
        import importlib

        return HttpResponse(str(importlib.import_module("spareplugins.migrations.0001_initial").VALUE))
    return HttpResponse("unknown", status=404)


def _status_field(path: str, name: str) -> str:
    with open(path) as status:
        return next(line.split()[1] for line in status if line.startswith(name + ":"))


def leaks(request: HttpRequest) -> HttpResponse:
    """What must be the same in a child however it started."""
    from shop import ticker

    database = str(settings.DATABASES["default"]["NAME"])
    descriptors = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            descriptors.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor
            pass
    main = f"/proc/self/task/{os.getpid()}/status"
    report = {
        "run_main": os.environ.get("RUN_MAIN"),
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "set_by_settings": os.environ.get("SET_BY_SETTINGS") == str(os.getpid()),
        "environ": sorted(
            key for key in os.environ if key not in ("DEVSERVER_RELOAD_REASON", "DEVSERVER_RELOAD_STARTED")
        ),
        "sigint": repr(signal.getsignal(signal.SIGINT)),
        "sigterm": callable(signal.getsignal(signal.SIGTERM)),
        "blocked": _status_field(main, "SigBlk"),
        "ignored": _status_field("/proc/self/status", "SigIgn"),
        "caught": _status_field("/proc/self/status", "SigCgt"),
        "database_files": sum(path.startswith(database) for path in descriptors),
        "ticker": ticker.ask("ping"),
        "ticker_alive": ticker.THREAD.is_alive(),
        "threads": sorted(thread.name for thread in threading.enumerate() if thread.name.startswith("spare-test")),
    }
    return HttpResponse(json.dumps(report), content_type="application/json")
'''
APPS = """
from django.apps import AppConfig

import edpkg  # noqa: F401  (an editable package outside the project, imported at set-up)

READY_VALUE = "unset"
try:
    import sparepkg

    INSTALLED = sparepkg.VALUE
except ImportError:
    INSTALLED = "absent"


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        global READY_VALUE
        READY_VALUE = "one"
        from . import ticker  # noqa: F401  (a library that starts a thread at import)
        from .models import Note

        Note.objects.count()  # a ready() that touches the database (discouraged, but seen)
        from django.template import engines

        engines["django"]  # builds the engine, which imports every template tag library
"""
TICKER = '''
"""Like a library that starts a thread when imported (a metrics client, a scheduler)."""
import queue
import threading

REQUESTS: queue.Queue[tuple[str, queue.Queue[str]]] = queue.Queue()


def _answer() -> None:
    while True:
        question, answers = REQUESTS.get()
        answers.put(f"pong to {question}")


THREAD = threading.Thread(target=_answer, name="spare-test-ticker", daemon=True)
THREAD.start()


def ask(question: str) -> str:
    answers: queue.Queue[str] = queue.Queue()
    REQUESTS.put((question, answers))
    return answers.get(timeout=10)
'''
THIRD_PARTY_APP = '''
from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class PluginsConfig(AppConfig):
    """A third-party app that imports a module of every app at set-up (as admin does)."""

    name = "spareplugins"

    def ready(self) -> None:
        autodiscover_modules("plugins")
'''
LIBRARY_MIGRATION = """
from django.db import migrations

VALUE = "one"


class Migration(migrations.Migration):
    operations = []
"""
PROJECT_DEVRUN = """
from devserver.management.commands.devrun import Command as DevrunCommand

GREETING = "one"


class Command(DevrunCommand):
    \"\"\"A project's own devrun (an app listed before devserver), as code that subclasses runserver does.\"\"\"

    def on_bind(self, server_port: int) -> None:
        super().on_bind(server_port)
        self.stdout.write(f"project devrun: {GREETING}")
"""
TAGS = """
from django import template

register = template.Library()


@register.filter
def shout(value: str) -> str:
    return f"{value}!"
"""


def write_project(root: Path) -> None:
    """The copy's extra modules: probes, a ready() with a thread and a query, a plugin."""
    shop = root / "shop"
    (shop / "probes.py").write_text(PROBES)
    (shop / "apps.py").write_text(APPS)
    (shop / "ticker.py").write_text(TICKER)
    (shop / "plugins.py").write_text('VALUE = "one"\n')
    (shop / "templatetags").mkdir()
    (shop / "templatetags" / "__init__.py").write_text("")
    (shop / "templatetags" / "shouting.py").write_text(TAGS)
    (shop / "templates" / "shop" / "shout.html").write_text('{% load shouting %}{{ "one"|shout }}')
    with (shop / "urls.py").open("a") as urls:
        urls.write(
            "\nfrom django.views.generic import TemplateView  # noqa: E402\n\n"
            "from . import probes  # noqa: E402\n\n"
            "urlpatterns += [\n"
            '    path("spare/", probes.spare),\n'
            '    path("value/<str:name>/", probes.value),\n'
            '    path("leaks/", probes.leaks),\n'
            '    path("shout/", TemplateView.as_view(template_name="shop/shout.html")),\n'
            "]\n"
        )
    settings = root / "testproject" / "settings.py"
    settings.write_text(
        settings.read_text()
        + '\nINSTALLED_APPS.append("spareplugins")\n'
        + 'os.environ["SET_BY_SETTINGS"] = str(os.getpid())  # what start-up puts in the environment\n'
    )


def build_wheel(directory: Path, name: str, version: str, source: str) -> Path:
    """A minimal wheel of one module: installing it with pip really changes installed files."""
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: devserver-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in {**files, f"{info}/RECORD": record}.items():
            archive.writestr(path, text)
    return wheel


class Environment:
    """A throwaway virtualenv that sees this one's packages (devserver, Django), with a
    third-party app and an editable package outside the project; pip installs into it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=120)
        self.python = self.venv / "bin" / "python"
        purelib = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.site_packages = Path(purelib)
        ours = next(path for path in sys.path if path.endswith("site-packages") and Path(path).is_dir())
        (self.site_packages / "_devserver_tests.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        (self.site_packages / "spareplugins").mkdir()
        (self.site_packages / "spareplugins" / "__init__.py").write_text("")
        (self.site_packages / "spareplugins" / "apps.py").write_text(THIRD_PARTY_APP)
        self.editable = root / "editable"
        (self.editable / "edpkg").mkdir(parents=True)
        (self.editable / "edpkg" / "__init__.py").write_text('VALUE = "one"\n')
        (self.site_packages / "__editable__.edpkg.pth").write_text(f"{self.editable}\n")
        self.wheels = root / "wheels"
        self.wheels.mkdir()

    def pip_install(self, name: str, version: str, source: str) -> None:
        wheel = build_wheel(self.wheels, name, version, source)
        subprocess.run(
            [*PIP, "--python", str(self.python), "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
            check=True,
            timeout=120,
        )


class Spared(Reloading):
    """A reloading ``devrun -v 2`` whose spares say what they do."""

    def wait_for_warm_spare(self, start: int) -> None:
        self.server.wait_for_line(lambda line: line.startswith(WARM), DEADLINE, start=start)

    def not_used(self, start: int) -> list[str]:
        return [line[len(NOT_USED) :] for line in self.server.lines[start:] if line.startswith(NOT_USED)]

    def started(self) -> str:
        """``set up``, ``imported`` or ``fresh``: how the serving process started."""
        status, body = self.get("/spare/")
        assert status == 200
        return body.decode()

    def served_by_spare(self) -> bool:
        return self.started() == "set up"

    def change(self, making: Callable[[], None]) -> int:
        """Make a change once a spare is set up; returns the output mark before it."""
        self.wait_for_warm_spare(self.last_ready())
        mark = self.mark()
        making()
        return mark

    def last_ready(self) -> int:
        return max(index for index, line in enumerate(self.server.lines) if line.startswith(READY_LINE_PREFIX))


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    return Environment(tmp_path / "environment")


@pytest.fixture
def start_spared(
    project_env: dict[str, str], tmp_path: Path, environment: Environment
) -> Iterator[Callable[..., Spared]]:
    """``devrun -v 2`` from the throwaway virtualenv in a copy of the project; stopped by PID."""
    started: list[DevrunProcess] = []

    def start(env: dict[str, str] | None = None, prepare: Callable[[Path], None] | None = None) -> Spared:
        root = copy_project(tmp_path / f"project{len(started)}")
        write_project(root)
        if prepare is not None:
            prepare(root)
        exclude = ["--reload-exclude", str(REPO / "devserver")]
        server = DevrunProcess(
            ["127.0.0.1:0", "-v", "2", *exclude],
            {**project_env, **(env or {})},
            cwd=root,
            manage=root / "manage.py",
            python=str(environment.python),
        )
        started.append(server)
        server.wait_ready(DEADLINE)
        server.wait_for_line(lambda line: line.startswith(READY_LINE_PREFIX), DEADLINE)
        return Spared(root, server)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def test_a_view_edit_is_served_by_the_set_up_spare(start_spared: Callable[..., Spared]) -> None:
    project = start_spared()
    assert not project.served_by_spare()
    mark = project.change(lambda: edit(project.views, '"Hello, world!"', '"Hello, spare!"'))
    project.wait_for("/hello/", lambda status, body: body == b"Hello, spare!")
    assert project.served_by_spare()
    assert project.not_used(mark) == []


def test_a_model_edit_with_its_migration_is_served(start_spared: Callable[..., Spared]) -> None:
    project = start_spared()
    migration = project.root / "shop" / "migrations" / "0002_note_rating.py"

    def add_field() -> None:
        migration.write_text(
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("shop", "0001_initial")]\n'
            '    operations = [migrations.AddField("note", "rating", models.IntegerField(default=0))]\n'
        )
        edit(
            project.root / "shop" / "models.py",
            "    body = ",
            "    rating = models.IntegerField(default=0)\n    body = ",
        )

    mark = project.change(add_field)
    project.wait_for("/value/setting/", lambda status, body: status == 200 and project.reload_lines(mark) != [])
    fields = project.server.wait_for_line(
        lambda line: "0002_note_rating" in line or "unapplied" in line, DEADLINE, mark
    )
    assert "unapplied migration" in fields  # the new child's migrations check saw the new migration
    assert any("shop/models.py changed" in reason for reason in project.not_used(mark))
    assert project.started() == "imported"  # the fallback: no slower than before the set-up spare


@pytest.mark.parametrize(
    ("change", "probe", "before", "after"),
    [
        ("settings", "/value/setting/", b"unset", b"edited"),
        ("ready", "/value/ready/", b"one", b"two"),
        ("plugin", "/value/plugin/", b"one", b"two"),
        ("templatetag", "/shout/", b"one!", b"one?"),
    ],
)
def test_a_change_to_what_the_spare_may_have_loaded_is_served(
    start_spared: Callable[..., Spared], change: str, probe: str, before: bytes, after: bytes
) -> None:
    project = start_spared()
    shop = project.root / "shop"
    changes: dict[str, Callable[[], None]] = {
        "settings": lambda: edit(
            project.root / "testproject" / "settings.py", "DEBUG = ", 'SPARE_TEST = "edited"\nDEBUG = '
        ),
        "ready": lambda: edit(shop / "apps.py", 'READY_VALUE = "one"', 'READY_VALUE = "two"'),
        "plugin": lambda: edit(shop / "plugins.py", '"one"', '"two"'),
        "templatetag": lambda: edit(shop / "templatetags" / "shouting.py", 'f"{value}!"', 'f"{value}?"'),
    }
    assert project.get(probe) == (200, before)
    project.change(changes[change])
    project.wait_for(probe, lambda status, body: body == after)


def test_a_package_installed_or_upgraded_in_the_virtualenv_is_served(
    start_spared: Callable[..., Spared], environment: Environment
) -> None:
    project = start_spared()
    assert project.get("/value/installed/") == (200, b"absent")
    text = "Hello, world!"
    for version, value in (("1.0", "one"), ("2.0", "two")):
        project.wait_for_warm_spare(project.last_ready())
        environment.pip_install("sparepkg", version, f"VALUE = {value!r}\n")
        mark = project.mark()
        edit(project.views, f'"{text}"', f'"Hello, {value}!"')  # the next restart (site-packages are not watched)
        text = f"Hello, {value}!"
        project.wait_for("/hello/", lambda status, body: body == text.encode())  # noqa: B023 (used at once)
        assert project.get("/value/installed/") == (200, value.encode())
        assert any("site-packages" in reason for reason in project.not_used(mark))


def test_an_editable_package_outside_the_project_is_served(
    start_spared: Callable[..., Spared], environment: Environment
) -> None:
    project = start_spared()
    assert project.get("/value/editable/") == (200, b"one")
    project.change(lambda: edit(environment.editable / "edpkg" / "__init__.py", '"one"', '"two"'))
    project.wait_for("/value/editable/", lambda status, body: body == b"two")


def test_nothing_leaks_from_the_spare_into_the_child(start_spared: Callable[..., Spared]) -> None:
    project = start_spared()
    fresh = json.loads(project.get("/leaks/")[1])
    project.change(lambda: edit(project.views, '"Hello, world!"', '"Hello, leaks!"'))
    project.wait_for("/hello/", lambda status, body: body == b"Hello, leaks!")
    assert project.served_by_spare()
    spared = json.loads(project.get("/leaks/")[1])
    assert spared == fresh
    assert spared["run_main"] == "true"
    assert spared["ticker"] == "pong to ping"
    assert spared["threads"] == ["spare-test-ticker"]
    assert spared["database_files"] == 0
    assert spared["set_by_settings"]


def test_a_changed_migration_of_a_library_is_served(
    start_spared: Callable[..., Spared], environment: Environment
) -> None:
    """The set-up spare imports the libraries' migration modules ahead (the child's migrations
    check would): one that changes in site-packages (not watched) must not be served stale."""
    migrations = environment.site_packages / "spareplugins" / "migrations"
    migrations.mkdir()
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(LIBRARY_MIGRATION)
    project = start_spared()
    assert project.get("/value/library-migration/") == (200, b"one")

    def upgrade_the_library_then_edit_a_view() -> None:
        edit(migrations / "0001_initial.py", '"one"', '"three"')  # another size: a stale .pyc cannot pass
        edit(project.views, '"Hello, world!"', '"Hello, library!"')  # the restart (site-packages are not watched)

    mark = project.change(upgrade_the_library_then_edit_a_view)
    project.wait_for("/hello/", lambda status, body: body == b"Hello, library!")
    assert project.get("/value/library-migration/") == (200, b"three")
    assert any("0001_initial.py changed" in reason for reason in project.not_used(mark))


def test_a_projects_own_devrun_command_edited_is_run(start_spared: Callable[..., Spared]) -> None:
    """The set-up spare imports the management command ahead, as ``fetch_command`` will: when it
    is the project's own code, an edit to it is run by the next start."""

    def add_command(root: Path) -> None:
        (root / "shop" / "management" / "commands").mkdir(parents=True)
        (root / "shop" / "management" / "__init__.py").write_text("")
        (root / "shop" / "management" / "commands" / "__init__.py").write_text("")
        (root / "shop" / "management" / "commands" / "devrun.py").write_text(PROJECT_DEVRUN)

    project = start_spared(prepare=add_command)
    commands = project.root / "shop" / "management" / "commands"
    assert (
        project.server.wait_for_line(lambda line: line.startswith("project devrun: "), DEADLINE)
        == "project devrun: one"
    )
    mark = project.change(lambda: edit(commands / "devrun.py", '"one"', '"three"'))
    line = project.server.wait_for_line(lambda line: line.startswith("project devrun: "), DEADLINE, mark)
    assert line == "project devrun: three"
    assert any("devrun.py changed" in reason for reason in project.not_used(mark))
