"""What a spare loaded, and when a fresh process would load something else."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.reload.inventory import CLOCK_SLACK, Inventory, Recorder, importable_names


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inventory, Path]]:
    """A package and a config file loaded while a recorder listened; its inventory."""
    package = tmp_path / "inventorypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("VALUE = 1\n")
    (tmp_path / "settings.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    since = time.time() + 2 * CLOCK_SLACK  # as if spawned after the files were written
    recorder = Recorder()
    recorder.start([str(tmp_path)])
    try:
        importlib.import_module("inventorypkg.core")
        with (tmp_path / "settings.json").open() as settings:
            settings.read()
        with (tmp_path / "written.log").open("w") as log:
            log.write("not a source")
    finally:
        recorder.stop()
    yield Inventory.take(since, recorder), tmp_path
    for name in ("inventorypkg", "inventorypkg.core", "inventorypkg.extra"):
        sys.modules.pop(name, None)


def later(path: Path) -> None:
    """Rewrite ``path`` with a modification time clearly after the inventory's."""
    path.write_text(path.read_text() + "\n")
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


def test_nothing_changed_means_not_stale(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    assert str(root / "inventorypkg" / "core.py") in inventory.files
    assert str(root / "settings.json") in inventory.files
    assert inventory.stale() is None


def test_a_loaded_module_written_since_makes_it_stale(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    later(root / "inventorypkg" / "core.py")
    assert inventory.stale() == f"{root / 'inventorypkg' / 'core.py'} changed"


def test_a_file_read_at_start_up_counts_too(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    later(root / "settings.json")
    assert inventory.stale() == f"{root / 'settings.json'} changed"


def test_a_file_opened_for_writing_does_not(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    assert str(root / "written.log") not in inventory.files
    later(root / "written.log")
    assert inventory.stale() is None


def test_a_removed_module_makes_it_stale(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    (root / "inventorypkg" / "core.py").unlink()
    assert inventory.stale() == f"{root / 'inventorypkg' / 'core.py'} was removed"


def test_a_new_module_where_imports_looked_makes_it_stale(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    (root / "inventorypkg" / "extra.py").write_text("")  # could shadow, or be found by an autodiscovery
    assert inventory.stale() == f"the modules in {root / 'inventorypkg'} changed"


def test_a_package_installed_beside_makes_it_stale(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    (root / "newpkg-1.0.dist-info").mkdir()
    assert inventory.stale() == f"the modules in {root} changed"


def test_editor_files_caches_and_journals_do_not(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    (root / "inventorypkg" / ".core.py.swp").write_text("")
    (root / "inventorypkg" / "core.py~").write_text("")
    (root / "db.sqlite3-journal").write_text("")
    (root / "inventorypkg" / "__pycache__").mkdir(exist_ok=True)
    assert inventory.stale() is None


def test_the_change_that_caused_the_restart_is_judged_by_what_was_loaded(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    assert inventory.stale([str(root / "views.py")]) is None  # Python, not loaded: a fresh import follows
    reason = inventory.stale([str(root / "inventorypkg" / "core.py")])  # loaded, even if its time looks old
    assert reason == f"{root / 'inventorypkg' / 'core.py'} changed"
    other = inventory.stale([str(root / "feature.cfg")])
    assert other is not None
    assert "not a Python module" in other


def test_importable_names_are_sources_packages_and_distributions(tmp_path: Path) -> None:
    for name in ("a.py", "b.cpython-311-x86_64-linux-gnu.so", "c.pth", "notes.txt", ".a.py.swp"):
        (tmp_path / name).write_text("")
    for name in ("pkg", "pkg-1.0.dist-info", "__pycache__"):
        (tmp_path / name).mkdir()
    names = importable_names(str(tmp_path))
    assert names is not None
    assert {"a.py", "c.pth", "pkg", "pkg-1.0.dist-info"} <= names
    assert not {"notes.txt", ".a.py.swp", "__pycache__"} & names
    assert importable_names(str(tmp_path / "missing")) is None


def test_only_the_touched_paths_are_judged(loaded: tuple[Inventory, Path]) -> None:
    inventory, root = loaded
    core = str(root / "inventorypkg" / "core.py")
    assert inventory.stale_among([core]) == f"{core} changed"
    (root / "inventorypkg" / ".core.py.swp").write_text("")
    assert inventory.stale_among([str(root / "inventorypkg" / ".core.py.swp")]) is None
    (root / "inventorypkg" / "extra.py").write_text("")
    reason = inventory.stale_among([str(root / "inventorypkg" / "extra.py")])
    assert reason == f"the modules in {root / 'inventorypkg'} changed"
    assert str(root / "inventorypkg") in inventory.watched_directories()
