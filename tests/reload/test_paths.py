"""Which paths count, and which directories get watched."""

from __future__ import annotations

import os
from pathlib import Path, PurePath

import pytest

from devserver.reload.paths import (
    PathRules,
    Watch,
    environment_dirs,
    matches_any,
    outermost,
    plan_watches,
    project_directories,
)

ROOT = Path("/srv/project")


def rooted(*, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> PathRules:
    return PathRules((Path("/opt/venv"),), include, exclude).with_roots([ROOT])


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.log", "/srv/project/logs/today.log", True),
        ("*.log", "/srv/project/logs/today.py", False),
        ("node_modules", "/srv/project/web/node_modules/x/index.js", True),
        ("shop/migrations/*.py", "/srv/project/shop/migrations/0001_initial.py", True),
        ("shop/migrations/*.py", "/srv/project/shop/migrations/sub/0001.py", False),
        ("shop/migrations", "/srv/project/shop/migrations/sub/0001.py", True),  # inside a matching directory
        ("shop/*.py", "/srv/project/other/shop.py", False),
        ("**/fixtures", "/srv/project/a/b/fixtures/data.json", True),
        ("/srv/project/vendor", "/srv/project/vendor/lib/mod.py", True),
        ("/srv/project/vendor", "/srv/project/vendored.py", False),
        ("test_?.py", "/srv/project/test_a.py", True),
        ("[!a]*.py", "/srv/project/apps.py", False),
        ("[!a]*.py", "/srv/project/views.py", True),
    ],
)
def test_globs_match_below_the_root_like_path_match(pattern: str, path: str, expected: bool) -> None:
    assert matches_any(PurePath(path), [pattern], relative_to=ROOT) is expected


def test_relative_globs_never_match_directories_above_the_root() -> None:
    project = Path("/tmp/build/project")
    assert not matches_any(project / "views.py", ["tmp", "build"], relative_to=project)
    assert matches_any(project / "build" / "x.py", ["build"], relative_to=project)


@pytest.mark.parametrize(
    "path",
    [
        "/srv/project/.git/index",
        "/srv/project/shop/__pycache__/views.cpython-311.pyc",
        "/srv/project/web/node_modules/left-pad/index.py",
        "/srv/project/.venv/lib/python3.11/site-packages/x.py",
        "/srv/project/lib/site-packages/x.py",
        "/srv/project/.tox/py311/lib/x.py",
        "/opt/venv/lib/python3.11/site-packages/django/db/models/base.py",
        "/srv/project/shop/.views.py.swp",
        "/srv/project/shop/views.py~",
        "/srv/project/shop/4913",
        "/srv/project/shop/.#views.py",
        "/srv/project/shop/#views.py#",
    ],
)
def test_environments_vcs_caches_and_editor_files_are_ignored(path: str) -> None:
    assert rooted().is_ignored(Path(path))


def test_project_files_are_not_ignored() -> None:
    rules = rooted()
    assert not rules.is_ignored(ROOT / "shop" / "views.py")
    assert not rules.is_ignored(ROOT / "shop" / "templates" / "shop" / "index.html")


def test_reload_exclude_ignores_matching_files_and_directories() -> None:
    rules = rooted(exclude=("*.generated.py", "media"))
    assert rules.is_ignored(ROOT / "shop" / "schema.generated.py")
    assert rules.is_ignored(ROOT / "media" / "uploads" / "x.py")
    assert not rules.is_ignored(ROOT / "shop" / "views.py")


def test_python_files_are_source_and_reload_include_adds_patterns() -> None:
    rules = rooted(include=("*.env", "config/*.yaml"))
    assert rules.is_source(ROOT / "shop" / "not_imported_yet.py")
    assert rules.is_source(ROOT / ".env")
    assert rules.is_source(ROOT / "config" / "app.yaml")
    assert not rules.is_source(ROOT / "other" / "app.yaml")
    assert not rules.is_source(ROOT / "shop" / "static" / "site.css")


def test_environment_includes_this_interpreters_stdlib_and_site_packages() -> None:
    found = environment_dirs()
    assert Path(pytest.__file__).resolve().parent.parent in found  # site-packages
    rules = PathRules(environment=found)
    assert rules.in_environment(Path(os.__file__).resolve())  # the stdlib
    assert not rules.in_environment(Path(__file__).resolve())


def test_outermost_keeps_only_directories_not_inside_another() -> None:
    paths = [Path("/a/b"), Path("/a"), Path("/a/c/d"), Path("/e"), Path("/ab")]
    assert outermost(paths) == [Path("/a"), Path("/ab"), Path("/e")]


def test_project_directories_come_from_project_files_only() -> None:
    rules = PathRules(environment=(Path("/opt/venv"),))
    files = [
        ROOT / "manage.py",
        ROOT / "shop" / "views.py",
        Path("/opt/venv/lib/python3.11/site-packages/django/__init__.py"),
        Path("/elsewhere/lib/mylib/__init__.py"),
    ]
    assert project_directories(files, rules) == [Path("/elsewhere/lib/mylib"), ROOT]


def make_tree(root: Path, *paths: str) -> None:
    for relative in paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_a_clean_tree_is_one_recursive_watch(tmp_path: Path) -> None:
    make_tree(tmp_path, "manage.py", "shop/views.py", "shop/__pycache__/views.pyc", "shop/templates/shop/a.html")
    plan = plan_watches([tmp_path], [], PathRules())
    assert plan.watches == (Watch(tmp_path, recursive=True),)
    assert plan.roots == (tmp_path,)


def test_virtualenvs_node_modules_and_git_are_never_walked(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        "manage.py",
        "shop/views.py",
        "shop/templates/a.html",
        ".git/objects/ab/cdef",
        "env/pyvenv.cfg",
        "env/lib/python3.11/site-packages/x.py",
        "frontend/src/app.js",
        "frontend/node_modules/pkg/index.js",
    )
    plan = plan_watches([tmp_path], [], PathRules())
    assert set(plan.watches) == {
        Watch(tmp_path, recursive=False),
        Watch(tmp_path / "frontend", recursive=False),
        Watch(tmp_path / "frontend" / "src", recursive=True),
        Watch(tmp_path / "shop", recursive=True),
    }


def test_excluded_directories_are_not_walked(tmp_path: Path) -> None:
    make_tree(tmp_path, "shop/views.py", "media/uploads/a.jpg")
    plan = plan_watches([tmp_path], [], PathRules(exclude=("media",)))
    assert Watch(tmp_path / "media", recursive=True) not in plan.watches
    assert Watch(tmp_path / "shop", recursive=True) in plan.watches


def test_files_outside_the_roots_are_watched_by_their_directory(tmp_path: Path) -> None:
    make_tree(tmp_path, "project/shop/views.py", "config/app.ini")
    project, config = tmp_path / "project", tmp_path / "config"
    plan = plan_watches([project], [config / "app.ini", project / "shop" / "views.py"], PathRules())
    assert plan.watches == (Watch(project, recursive=True), Watch(config, recursive=False))
    assert set(plan.roots) == {project, config}


def test_missing_and_environment_directories_are_not_roots(tmp_path: Path) -> None:
    make_tree(tmp_path, "venv/lib/x.py")
    rules = PathRules(environment=(tmp_path / "venv",))
    plan = plan_watches([tmp_path / "missing", tmp_path / "venv"], [], rules)
    assert plan.watches == ()
