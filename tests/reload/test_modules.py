"""The files behind the imported modules, resolved by directory."""

from __future__ import annotations

import sys
import types
from pathlib import Path

from django.utils import autoreload

from devserver.reload.modules import imported_files, resolve_files


def test_the_same_files_as_djangos_reloader() -> None:
    assert imported_files() == autoreload.iter_all_python_module_files()


def test_symbolic_links_are_resolved_and_missing_files_skipped(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "module.py").write_text("")
    (tmp_path / "linked").symlink_to(real)
    (tmp_path / "file_link.py").symlink_to(real / "module.py")
    found = resolve_files(
        [str(tmp_path / "linked" / "module.py"), str(tmp_path / "file_link.py"), str(tmp_path / "gone.py")]
    )
    assert found == {real / "module.py"}


def test_modules_without_a_file_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "here.py").write_text("")
    here = types.ModuleType("here")
    here.__spec__ = None
    main = types.ModuleType("__main__")
    main.__file__ = str(tmp_path / "here.py")
    assert imported_files({"here": here, "__main__": main, "sys": sys}) == {tmp_path / "here.py"}
