"""What the set-up spare imports past ``django.setup()``: the command and the libraries'
migrations, as the child's ``fetch_command`` and ``MigrationLoader`` will find them."""

from __future__ import annotations

import pytest
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings

from devserver.reload.lookahead import command_module, library_migration_modules
from devserver.reload.paths import PathRules

in_environment = PathRules.for_this_interpreter().in_environment


def test_the_command_module_is_the_one_fetch_command_finds() -> None:
    assert list(command_module(["manage.py", "devrun", "127.0.0.1:0"])) == ["devserver.management.commands.devrun"]
    assert list(command_module(["manage.py", "migrate"])) == ["django.core.management.commands.migrate"]


@pytest.mark.parametrize("argv", [["manage.py"], ["manage.py", "no-such-command"]])
def test_no_command_no_module(argv: list[str]) -> None:
    assert list(command_module(argv)) == []


def test_the_libraries_migrations_are_those_the_loader_imports_and_not_the_projects() -> None:
    names = list(library_migration_modules(in_environment))
    loader = MigrationLoader(None, ignore_no_migrations=True)
    packages = {label: MigrationLoader.migrations_module(label)[0] for label in loader.migrated_apps}
    from_libraries = {f"{packages[label]}.{name}" for label, name in loader.disk_migrations if label != "shop"}
    assert set(names) == from_libraries | {package for label, package in packages.items() if label != "shop"}
    assert "django.contrib.auth.migrations.0001_initial" in names
    assert names.index("django.contrib.auth.migrations") < names.index("django.contrib.auth.migrations.0001_initial")
    assert not [name for name in names if name.startswith("shop.")]  # the project's own: the child imports them


def test_migrations_moved_into_the_project_are_the_projects() -> None:
    with override_settings(MIGRATION_MODULES={"auth": "shop.migrations"}):
        names = list(library_migration_modules(in_environment))
    assert not [name for name in names if name.startswith(("shop.", "django.contrib.auth."))]


def test_nothing_counts_as_a_library_nothing_is_imported() -> None:
    assert list(library_migration_modules(lambda path: False)) == []
