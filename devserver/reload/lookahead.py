"""What a set-up spare imports past ``django.setup()``: modules a fresh child imports too,
that are not the project's code and do not depend on the edit that caused the restart.

- The management command, as ``fetch_command`` finds it, and devserver's reloader modules
  (``watchdog`` among them): a fresh child imports them right after ``django.setup()``, before
  it runs any code of the project. (If the command is the project's own, a ``devrun``
  subclass in one of its apps, it is in the inventory like any module: an edit to it makes
  the spare decline.)
- The migration modules of the apps installed as libraries (site-packages, the standard
  library): the child's migrations check imports them all (Wagtail alone has some 200).
  Nothing imports them but Django's migration loader, and they declare operations with
  Django's and their own library's code. The project's own migrations (and a library's that
  ``MIGRATION_MODULES`` moves into the project) stay for the child.

The inventory records all of it like everything else (a changed file, a new migration in a
directory it listed, a package upgrade: the spare declines). Everything else (the system
checks, the URLconf and what it imports, the first request) runs in the child, in the order
a fresh process runs it (see ``docs/reloader.md``).
"""

from __future__ import annotations

import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from .spare import preload

#: devserver's modules that every reloader child imports before it serves, past its command's.
RELOADER_MODULES: Final = ("devserver.reload.child",)


def import_ahead(argv: list[str], is_library: Callable[[Path], bool]) -> None:
    """Import, as the child will, its command, the reloader's modules and the libraries'
    migration modules. A module that fails is rolled back: the child meets the error itself.
    (Django's loader runs each migrations package's ``__init__`` again, as it always does
    for a package already imported.)"""
    preload([*command_module(argv), *RELOADER_MODULES], hide_settings=False)
    preload(library_migration_modules(is_library), hide_settings=False)


def command_module(argv: list[str]) -> Iterator[str]:
    """The module of the command ``argv`` runs (``manage.py devrun ...``), as ``fetch_command``
    finds it; nothing for a command that is not installed (the child shows that error)."""
    from django.core.management import get_commands

    if len(argv) < 2:
        return
    app = get_commands().get(argv[1])
    if isinstance(app, str):
        yield f"{app}.management.commands.{argv[1]}"


def library_migration_modules(is_library: Callable[[Path], bool]) -> Iterator[str]:
    """The migration modules that Django's ``MigrationLoader`` will import from libraries
    (site-packages, the standard library): those of every installed app whose migrations
    package (``MIGRATION_MODULES`` may move it into the project) lives there."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    for app_config in apps.get_app_configs():
        package, _ = MigrationLoader.migrations_module(app_config.label)
        if package is None:  # MIGRATION_MODULES turns its migrations off
            continue
        try:
            spec = importlib.util.find_spec(package)
        except Exception:  # a broken or missing package: the child's loader says so
            continue
        if spec is None or spec.origin is None or spec.submodule_search_locations is None:
            continue  # none, a namespace package or a plain module: the loader imports nothing from these
        if not is_library(Path(spec.origin).resolve()):
            continue
        yield package
        for module in pkgutil.iter_modules(spec.submodule_search_locations):
            if not module.ispkg and module.name[0] not in "_~":
                yield f"{package}.{module.name}"
