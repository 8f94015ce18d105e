"""A missing optional package is a one-line error naming the extra that installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from devserver.errors import ConfigurationError
from devserver.extras import MissingExtraError, import_extra


def test_a_missing_package_names_the_extra() -> None:
    with pytest.raises(MissingExtraError) as caught:
        import_extra("no_such_package_xyz.sub", extra="thing", feature="--thing", package="NoSuchPackage")
    assert (
        str(caught.value) == "--thing needs NoSuchPackage, which is not installed: pip install 'django-devrun[thing]'"
    )
    assert isinstance(caught.value, ConfigurationError)  # exit status 2, like every bad option


def test_an_installed_package_missing_a_dependency_keeps_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_installed_xyz.py").write_text("import its_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="its_dependency_xyz"):
        import_extra("half_installed_xyz", extra="thing", feature="--thing", package="HalfInstalled")


def test_an_installed_package_is_returned() -> None:
    assert import_extra("json", extra="none", feature="-", package="json").dumps([]) == "[]"
