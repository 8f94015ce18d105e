"""A warm spare: the next child, started early, with Django's own modules already imported.

This is the first of two kinds of spare (the ``import`` stage); the second (the ``setup``
stage, :mod:`.preload`) goes as far as ``django.setup()`` and is used whenever it can be.
This one is the fallback when that one loaded something that changed (a ``models.py``,
the settings): it never imports the project, so only a change to Django itself spoils it.

Starting Python and importing Django takes about two thirds of a restart, and none of it
depends on the project. So, once a child has settled, the supervisor starts a spare that
imports the framework (never the project: ``DJANGO_SETTINGS_MODULE`` is hidden meanwhile,
so any module that reads settings at import time is left out) and waits. At the next
restart the supervisor sends it the child's environment and command line, and the spare
runs ``manage.py`` in-process, exactly where a fresh child would start.

If anything it imported changed on disk since it started (a ``pip install``, an edit to
an editable package), it replaces itself with a fresh interpreter (``os.execv``) instead:
a spare is only ever a shortcut, never a different program.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final, NoReturn

from .handoff import CONTROL_FD_ENV, leave_ctrl_c_to_the_supervisor

#: Framework modules that import without settings, in the order Django itself imports them.
PRELOAD: Final = (
    "django.core.management",
    "django.core.management.commands.runserver",
    "django.core.management.commands.migrate",
    "django.db.backends.sqlite3.base",
    "django.core.handlers.wsgi",
    "django.contrib.staticfiles.handlers",
    "django.contrib.admin",
    "django.contrib.sessions.middleware",
    "django.contrib.messages.middleware",
    "django.middleware.csrf",
    "django.middleware.security",
    "django.middleware.common",
    "django.middleware.clickjacking",
    "django.views.debug",
    "django.template.loaders.app_directories",
    "django.template.loaders.cached",
    "django.utils.translation.reloader",
    "devserver.management.commands.devrun",
    "devserver.backends.threaded",
    "devserver.reload.child",
)


def preload(names: Iterable[str], *, hide_settings: bool = True) -> None:
    """Import ``names`` (with settings out of reach, unless told otherwise); a module that
    fails is rolled back whole (with whatever it imported), so nothing half-initialised stays."""
    hidden = os.environ.pop("DJANGO_SETTINGS_MODULE", None) if hide_settings else None
    try:
        for name in names:
            before = set(sys.modules)
            try:
                importlib.import_module(name)
            except Exception:
                for added in set(sys.modules) - before:
                    del sys.modules[added]
    finally:
        if hidden is not None:
            os.environ["DJANGO_SETTINGS_MODULE"] = hidden


def changed_since(started: float) -> bool:
    """Whether a file this process imported was written after ``started``."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            with contextlib.suppress(OSError):
                status = os.stat(path)
                if max(status.st_mtime, status.st_ctime) > started:
                    return True
    return False


def wait_for_orders(control: socket.socket) -> dict[str, Any] | None:
    """The supervisor's one message (``{"argv": [...], "env": {...}}``), None on EOF."""
    received = b""
    while b"\n" not in received:
        chunk = control.recv(65536)
        if not chunk:
            return None
        received += chunk
    orders: dict[str, Any] = json.loads(received.split(b"\n", 1)[0])
    return orders


def become_child(argv: list[str], program: list[str], started: float) -> NoReturn:
    """Run ``program`` (``manage.py ...`` or ``-m django ...``) here, as a fresh child would;
    with a stale import, ``execv`` a fresh child instead."""
    if changed_since(started):
        os.execv(sys.executable, argv)
    if program[0] == "-m":
        sys.argv = list(program[1:])
        sys.path[0] = os.getcwd()
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(program)
        sys.path[0] = os.path.dirname(os.path.realpath(program[0]))
        runpy.run_path(program[0], run_name="__main__")
    sys.exit(0)


#: The two kinds of spare.
IMPORT_STAGE: Final = "import"
SETUP_STAGE: Final = "setup"


def main(stage: str = IMPORT_STAGE, program: Sequence[str] = ()) -> NoReturn:
    if stage == SETUP_STAGE:
        from .preload import main as main_after_setup

        main_after_setup(program)
    started = time.time()
    leave_ctrl_c_to_the_supervisor()
    control = socket.socket(fileno=int(os.environ[CONTROL_FD_ENV]))
    preload(PRELOAD)
    try:
        orders = wait_for_orders(control)
    finally:
        control.detach()  # the child's watcher reads this descriptor next: do not close it
    if orders is None:  # the supervisor is gone, or stops without needing us
        sys.exit(0)
    os.environ.clear()
    os.environ.update(orders["env"])
    become_child(list(orders["argv"]), list(orders["program"]), started)
