"""Settings for the devserver test project.

A small but real Django project used by the devserver test suite, the README
examples and the benchmarks.  Everything a test may need to vary comes from
environment variables so that a spawned ``manage.py devrun`` process can be
configured without editing files:

- ``TESTPROJECT_DEBUG``: ``"1"`` (default) or ``"0"``.
- ``TESTPROJECT_ALLOWED_HOSTS``: comma-separated host names (default: none,
  which Django treats as localhost-only while DEBUG is on).
- ``TESTPROJECT_DB``: path of the SQLite database (default ``db.sqlite3`` next
  to ``manage.py``).
- ``TESTPROJECT_MEDIA_ROOT``: where uploaded files go (default ``media/``).
- ``TESTPROJECT_DEVSERVER``: JSON object injected as the ``DEVSERVER`` setting.
- ``TESTPROJECT_WSGI_APPLICATION``: dotted path of the WSGI application to serve
  (``testproject.wsgi_cases.application`` serves the gateway tests' edge cases).
- ``TESTPROJECT_FIRST_APPS``: comma-separated apps listed first in ``INSTALLED_APPS``
  (``devserver.runserver`` makes ``runserver`` run devrun).
- ``TESTPROJECT_ASGI``: ``"1"`` makes it an async project: ``ASGI_APPLICATION`` is set (so
  ``devrun`` serves ASGI), and Channels serves websockets on its in-memory channel layer.
- ``TESTPROJECT_ASGI_APPLICATION``: with ``TESTPROJECT_ASGI=1``, the ASGI application to serve
  instead (``testproject.asgi_cases.application`` serves the ASGI gateway tests' edge cases).
"""

import json
import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

# A fixed key is fine: this project only ever runs locally in tests.
SECRET_KEY = "django-insecure-testproject-not-for-production-0123456789abcdef"

DEBUG = os.environ.get("TESTPROJECT_DEBUG", "1") == "1"

ALLOWED_HOSTS = [host.strip() for host in os.environ.get("TESTPROJECT_ALLOWED_HOSTS", "").split(",") if host.strip()]

DEVSERVER: dict[str, Any] = json.loads(os.environ.get("TESTPROJECT_DEVSERVER", "{}"))

FIRST_APPS = [app.strip() for app in os.environ.get("TESTPROJECT_FIRST_APPS", "").split(",") if app.strip()]

PROJECT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",
    "devserver",
]

INSTALLED_APPS = FIRST_APPS + [app for app in PROJECT_APPS if app not in FIRST_APPS]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "testproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = os.environ.get("TESTPROJECT_WSGI_APPLICATION", "testproject.wsgi.application")

if os.environ.get("TESTPROJECT_ASGI") == "1":
    ASGI_APPLICATION = os.environ.get("TESTPROJECT_ASGI_APPLICATION", "testproject.asgi.application")
    INSTALLED_APPS.append("channels")
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("TESTPROJECT_DB", BASE_DIR / "db.sqlite3")).resolve(),
    }
}

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("TESTPROJECT_MEDIA_ROOT", BASE_DIR / "media")).resolve()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
