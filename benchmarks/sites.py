"""The projects ``benchmarks.heavy`` measures, built by the benchmark itself.

- **heavy**: a real third-party-heavy site: ``wagtail start`` (Wagtail 8 on Django 5.2) plus
  Django REST framework with django-filter, django-allauth, django-debug-toolbar and
  django-import-export, and a small app of ours (``bench``: a model, views, an API, an admin).
  Everything is installed at pinned versions (``heavy-requirements.txt``) into a virtualenv
  of its own, kept in ``.benchmarks-cache/`` between runs (keyed by the requirements).
- **modules**: a copy of ``testproject/`` whose URLconf imports a package of 20,000
  one-line modules (in 200 directories), served by this checkout's interpreter.

Both have ``/hello/`` (a view to edit) and ``/fields/`` (the fields of a model, to see a
``models.py`` edit served).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .servers import REPO

REQUIREMENTS: Final = Path(__file__).with_name("heavy-requirements.txt")
CACHE: Final = REPO / ".benchmarks-cache"
HELLO_VIEW: Final = """
import os

from django.http import HttpRequest, HttpResponse

from .models import Note


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, world!", content_type="text/plain")


def fields(request: HttpRequest) -> HttpResponse:
    names = [field.name for field in Note._meta.get_fields()]
    return HttpResponse(",".join(names), content_type="text/plain")


def pid(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(os.getpid()), content_type="text/plain")
"""
FIELDS_VIEW: Final = """

def fields(request: HttpRequest) -> HttpResponse:
    from .models import Note

    names = [field.name for field in Note._meta.get_fields()]
    return HttpResponse(",".join(names), content_type="text/plain")


def pid(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(os.getpid()), content_type="text/plain")
"""
MODEL: Final = """
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=100)
"""


@dataclass(frozen=True)
class Site:
    """A project ready to serve: its ``manage.py``, the interpreter and environment to run it."""

    name: str
    root: Path
    python: Path
    env: dict[str, str]
    #: The app whose ``views.py`` and ``models.py`` are edited.
    app: Path

    @property
    def manage(self) -> Path:
        return self.root / "manage.py"

    def run(self, *args: str) -> None:
        subprocess.run(
            [str(self.python), str(self.manage), *args], cwd=self.root, env=self.env, check=True, timeout=600
        )


def base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("RUN_MAIN", "DJANGO_SETTINGS_MODULE")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # time starting, not compiling
    env.update(DJANGO_RUNSERVER_HIDE_WARNING="true", PYTHONUNBUFFERED="1", **extra)
    return env


def heavy_venv() -> Path:
    """The heavy site's virtualenv (created and installed once per requirements file)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"heavy-{digest}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        shutil.rmtree(venv, ignore_errors=True)
        print(f"installing the heavy site's packages into {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
        (venv / ".installed").touch()
    return python


def build_heavy(directory: Path) -> Site:
    """``wagtail start`` plus DRF, django-filter, allauth, debug toolbar, import-export and our app."""
    python = heavy_venv()
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(python.parent / "wagtail"), "start", "heavysite", str(directory)], check=True)
    with (directory / "heavysite" / "settings" / "base.py").open("a") as settings:
        settings.write(
            textwrap.dedent(
                """
                import os

                INSTALLED_APPS += [
                    "bench",
                    "rest_framework",
                    "allauth",
                    "allauth.account",
                    "allauth.socialaccount",
                    "allauth.socialaccount.providers.github",
                    "debug_toolbar",
                    "import_export",
                    "devserver",
                ]
                MIDDLEWARE += [
                    "allauth.account.middleware.AccountMiddleware",
                    "debug_toolbar.middleware.DebugToolbarMiddleware",
                ]
                AUTHENTICATION_BACKENDS = [
                    "django.contrib.auth.backends.ModelBackend",
                    "allauth.account.auth_backends.AuthenticationBackend",
                ]
                INTERNAL_IPS = ["127.0.0.1"]
                DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
                REST_FRAMEWORK = {"DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"]}
                DATABASES["default"]["NAME"] = os.environ.get("HEAVY_DB", DATABASES["default"]["NAME"])
                """
            )
        )
    app = directory / "bench"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODEL)
    (app / "views.py").write_text(HELLO_VIEW)
    (app / "api.py").write_text(
        textwrap.dedent(
            """
            from rest_framework import routers, serializers, viewsets

            from .models import Note


            class NoteSerializer(serializers.ModelSerializer):
                class Meta:
                    model = Note
                    fields = "__all__"


            class NoteViewSet(viewsets.ModelViewSet):
                queryset = Note.objects.all()
                serializer_class = NoteSerializer
                filterset_fields = ["title"]


            router = routers.DefaultRouter()
            router.register("notes", NoteViewSet)
            """
        )
    )
    (app / "admin.py").write_text(
        textwrap.dedent(
            """
            from django.contrib import admin
            from import_export.admin import ImportExportModelAdmin

            from .models import Note


            @admin.register(Note)
            class NoteAdmin(ImportExportModelAdmin):
                list_display = ["title"]
            """
        )
    )
    urls = directory / "heavysite" / "urls.py"
    text = urls.read_text()
    text = text.replace(
        "urlpatterns = [\n",
        "from bench import views as bench_views\nfrom bench.api import router as bench_router\n\n"
        "urlpatterns = [\n"
        '    path("hello/", bench_views.hello),\n'
        '    path("fields/", bench_views.fields),\n'
        '    path("pid/", bench_views.pid),\n'
        '    path("api/", include(bench_router.urls)),\n'
        '    path("accounts/", include("allauth.urls")),\n'
        '    path("__debug__/", include("debug_toolbar.urls")),\n',
        1,
    )
    urls.write_text(text)
    site = Site("heavy", directory, python, base_env(HEAVY_DB=str(directory / "db.sqlite3")), app)
    site.run("makemigrations", "bench", "-v", "0")
    site.run("migrate", "--noinput", "-v", "0")
    return site


def build_modules(directory: Path, count: int = 20_000) -> Site:
    """testproject plus a package of ``count`` one-line modules that its URLconf imports."""
    shutil.copytree(
        REPO / "testproject",
        directory,
        ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3", "media", "staticfiles"),
    )
    package = directory / "bulk"
    for number in range(count):
        part = package / f"part{number // 100:03}"
        if number % 100 == 0:
            part.mkdir(parents=True)
            (part / "__init__.py").write_text("")
        (part / f"m{number % 100:02}.py").write_text(f"VALUE = {number}\n")
    imports = [f"import bulk.part{number // 100:03}.m{number % 100:02}" for number in range(count)]
    (package / "__init__.py").write_text("\n".join(imports) + "\n")
    app = directory / "shop"
    with (app / "views.py").open("a") as views:
        views.write(FIELDS_VIEW)
    with (app / "urls.py").open("a") as urls:
        urls.write("\nimport bulk  # noqa: E402, F401\n\n")
        urls.write('urlpatterns += [path("fields/", views.fields), path("pid/", views.pid)]\n')
    database = directory / "db.sqlite3"
    env = base_env(DJANGO_SETTINGS_MODULE="testproject.settings", TESTPROJECT_DB=str(database))
    site = Site("modules", directory, Path(sys.executable), env, app)
    site.run("migrate", "--noinput", "-v", "0")
    return site
