"""Fixtures of the works-with suite: project variants per neighbour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..e2e.test_reload import copy_project
from .project import Variant, write_variant


@pytest.fixture
def make_variant(project_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Variant]]:
    """``make_variant(name, settings, urls="")``: a project copy with that settings module."""
    made: list[Variant] = []

    def make(name: str, settings: str, urls: str = "", before: Callable[[Path], None] | None = None) -> Variant:
        root = copy_project(tmp_path / f"{name}{len(made)}")
        if before is not None:
            before(root)
        variant = Variant(root, write_variant(root, name, settings, urls), dict(project_env))
        made.append(variant)
        return variant

    yield make
    for variant in made:
        variant.stop_all()
