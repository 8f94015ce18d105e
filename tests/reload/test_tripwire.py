"""inotify on a set of directories, read once: what changed since it was armed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devserver.reload.tripwire import Tripwire

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


@pytest.fixture
def armed(tmp_path: Path) -> Iterator[tuple[Tripwire, Path]]:
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg").mkdir()
    tripwire = Tripwire.arm([str(tmp_path), str(tmp_path / "pkg")])
    assert tripwire is not None
    yield tripwire, tmp_path
    tripwire.close()


def test_nothing_happened_and_reading_is_not_a_change(armed: tuple[Tripwire, Path]) -> None:
    tripwire, root = armed
    assert (root / "module.py").read_text() == "VALUE = 1\n"
    assert tripwire.touched() == set()


def test_writes_new_entries_and_removals_are_reported_once(armed: tuple[Tripwire, Path]) -> None:
    tripwire, root = armed
    (root / "module.py").write_text("VALUE = 2\n")
    (root / "pkg" / "new.py").write_text("")
    (root / "gone").mkdir()
    (root / "gone").rmdir()
    assert tripwire.touched() == {str(root / "module.py"), str(root / "pkg" / "new.py"), str(root / "gone")}
    assert tripwire.touched() == set()


def test_a_watched_directory_removed_is_reported_itself(armed: tuple[Tripwire, Path]) -> None:
    tripwire, root = armed
    (root / "pkg").rmdir()
    touched = tripwire.touched()
    assert touched is not None
    assert str(root / "pkg") in touched


def test_a_missing_directory_is_skipped(tmp_path: Path) -> None:
    tripwire = Tripwire.arm([str(tmp_path / "missing"), str(tmp_path)])
    assert tripwire is not None
    tripwire.close()
