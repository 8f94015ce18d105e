"""What a set-up spare does past ``django.setup()``: only what a fresh child would do the same.

After ``django.setup()`` a fresh child imports its management command, devserver's and
Django's own serving modules, and, in its migrations check, the migration modules of every
app. None of that is the project's own code, none of it depends on the edit that caused the
restart, and together it is a good part of what a restart still costs on a large site
(Wagtail alone has some 200 migration modules). So the set-up spare does it before it pauses,
and its inventory records it like everything else (a new migration or command file in a
directory it listed, or a package upgrade, makes the spare stale).

What stays for the child: the project's own migration modules, and everything the system
checks, the URLconf and the first request import, in the order a fresh process imports them
(see ``docs/reloader.md``).
"""

from __future__ import annotations

import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path

from .spare import PRELOAD, preload


def go_ahead(argv: list[str], is_library: Callable[[Path], bool]) -> None:
    """Import, as the child will, its command, the serving modules and the libraries'
    migration modules. A module that fails is rolled back: the child meets the error itself."""
    preload([*command_module(argv), *PRELOAD], hide_settings=False)
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
