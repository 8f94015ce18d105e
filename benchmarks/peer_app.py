"""The WSGI application peer servers load: exactly what the in-process ceiling calls."""

from __future__ import annotations

import sys

import django

from .inprocess import PROJECT, served_application

if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))
django.setup()
application = served_application()
