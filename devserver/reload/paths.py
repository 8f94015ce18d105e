"""Which paths the reloader cares about: the project's own, never the environment's.

Two questions are answered here, both without touching watchdog: is a path worth a
reload (:class:`PathRules`), and which directories to watch so that the project is
covered while virtualenvs, ``node_modules`` and ``.git`` are never walked
(:func:`plan_watches`).
"""

from __future__ import annotations

import functools
import os
import re
import site
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Final

#: A change under a directory with one of these names never reloads.
IGNORED_DIR_NAMES: Final = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        ".venv",
        "site-packages",
        "dist-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
#: ``__pycache__`` sits in every package: pruning it from the walk would split every
#: recursive watch into one watch per directory, so it is watched and its events dropped.
UNWALKED_DIR_NAMES: Final = IGNORED_DIR_NAMES - {"__pycache__"}
#: Files editors write beside the one being saved (vim's ``4913`` probes writability).
EDITOR_TEMP_FILES: Final = ("*.swp", "*.swo", "*.swx", "*~", "4913", ".#*", "#*#")
#: Reloads follow Python source by default; ``--reload-include`` adds other patterns.
SOURCE_SUFFIXES: Final = frozenset({".py", ".pyw"})


def environment_dirs() -> tuple[Path, ...]:
    """The interpreter's own directories: the stdlib, site-packages and the virtualenv."""
    paths = sysconfig.get_paths()
    candidates = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += [*site.getsitepackages(), site.getusersitepackages()]
    if sys.prefix != sys.base_prefix:  # a virtualenv: all of it, scripts included
        candidates.append(sys.prefix)
    found = {Path(candidate).resolve() for candidate in candidates if candidate}
    return tuple(sorted(found))


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for ``pattern`` that matches a path, or anything below a matching directory.

    ``*`` and ``?`` stay within one path component and ``**`` spans any number of them. An
    absolute pattern is matched from the root; a relative one against the path's end, the
    way ``PurePath.match`` does, so ``*.log``, ``node_modules`` and ``shop/migrations/*.py``
    all mean what they say wherever the project lives.
    """
    body = _translate(pattern.rstrip("/") or "/")
    prefix = "" if pattern.startswith("/") else "(?:.*/)?"
    return re.compile(f"{prefix}{body}(?:/.*)?", re.DOTALL)


@functools.lru_cache(maxsize=64)
def relative_glob_regex(pattern: str) -> re.Pattern[str]:
    """``Path.glob`` semantics for a path relative to the globbed directory (``watch_dir()``)."""
    return re.compile(_translate(pattern), re.DOTALL)


def _translate(pattern: str) -> str:
    parts: list[str] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and (end := pattern.find("]", index + 2)) != -1:
            inside = pattern[index + 1 : end].replace("\\", "\\\\")
            if inside.startswith("!"):
                inside = "^" + inside[1:]
            parts.append(f"[{inside}]")
            index = end
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def matches_any(path: PurePath, patterns: Iterable[str], *, relative_to: PurePath | None = None) -> bool:
    """Whether ``path`` matches one of ``patterns``; relative patterns see the path below
    ``relative_to`` (a watched root), so ``tmp`` never matches a project that lives in /tmp."""
    patterns = tuple(patterns)
    if not patterns:
        return False
    text = path.as_posix()
    tail = text[len(_prefix(relative_to.as_posix())) :] if relative_to is not None else text
    return any(glob_regex(pattern).fullmatch(text if pattern.startswith("/") else tail) for pattern in patterns)


def _prefix(directory: str) -> str:
    """``directory`` with one trailing slash: ``text + "/"`` starts with it when ``text`` is
    the directory or below it (string tests: ``Path.parents`` costs ~1 µs a level)."""
    return directory if directory.endswith("/") else directory + "/"


@functools.lru_cache(maxsize=64)
def _prefixes(directories: tuple[Path, ...]) -> tuple[str, ...]:
    return tuple(_prefix(directory.as_posix()) for directory in directories)


#: Editor temporary files, as one regex on a file name.
_EDITOR_TEMP_NAME: Final = re.compile("|".join(f"(?:{_translate(pattern)})" for pattern in EDITOR_TEMP_FILES))


@dataclass(frozen=True, slots=True)
class PathRules:
    """What counts as a change worth reloading for.

    Built from the ``RELOAD_INCLUDE``/``RELOAD_EXCLUDE`` settings and the running
    interpreter, then told the watched roots (:meth:`with_roots`), which relative patterns
    and directory names are judged below. Every answer comes from the path alone, without
    ``stat()``, except :meth:`is_unwalked`'s virtualenv test.
    """

    environment: tuple[Path, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    roots: tuple[Path, ...] = ()

    @classmethod
    def for_this_interpreter(cls, *, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> PathRules:
        return cls(environment_dirs(), tuple(include), tuple(exclude))

    def with_roots(self, roots: Iterable[Path]) -> PathRules:
        return replace(self, roots=tuple(sorted(set(roots), key=lambda root: len(root.parts), reverse=True)))

    def in_environment(self, path: Path) -> bool:
        text = path.as_posix() + "/"
        return any(text.startswith(prefix) for prefix in _prefixes(self.environment))

    def root_of(self, path: Path) -> Path | None:
        """The innermost watched root holding ``path``."""
        text = path.as_posix() + "/"
        roots = zip(self.roots, _prefixes(self.roots), strict=True)
        return next((root for root, prefix in roots if text.startswith(prefix)), None)

    def is_ignored(self, path: Path) -> bool:
        """Never a reason to reload: the environment, VCS and cache directories, editor
        temporary files and whatever ``RELOAD_EXCLUDE`` names. Called for every file of a
        project (20,000 modules, a template tree): string tests only, no ``Path`` walks."""
        text = path.as_posix()
        root = self.root_of(path)
        below = text[len(_prefix(root.as_posix())) :] if root is not None else text
        if not IGNORED_DIR_NAMES.isdisjoint(below.split("/")) or self.in_environment(path):
            return True
        return _EDITOR_TEMP_NAME.fullmatch(path.name) is not None or matches_any(path, self.exclude, relative_to=root)

    def is_source(self, path: Path) -> bool:
        """Code whose change means a restart unless a receiver handles it: Python files
        (imported or not, so a module that failed to import is covered) and
        ``RELOAD_INCLUDE`` patterns."""
        return path.suffix in SOURCE_SUFFIXES or self.is_included(path)

    def is_included(self, path: Path) -> bool:
        """Whether ``RELOAD_INCLUDE`` names ``path``: asked for explicitly, so it restarts even
        when a receiver handled the change (a template that Django's loaders were reset for)."""
        return matches_any(path, self.include, relative_to=self.root_of(path))

    def is_unwalked(self, directory: Path) -> bool:
        """A directory the watch plan never descends into (and so never watches)."""
        if directory.name in UNWALKED_DIR_NAMES or self.in_environment(directory):
            return True
        root = self.root_of(directory)
        if root is not None and root != directory and matches_any(directory, self.exclude, relative_to=root):
            return True
        return (directory / "pyvenv.cfg").exists()

    def project_files(self, files: Iterable[Path]) -> list[Path]:
        """The project's own files among ``files`` (typically ``sys.modules``' origins)."""
        return sorted(path for path in files if not self.is_ignored(path))


def project_directories(files: Iterable[Path], rules: PathRules) -> list[Path]:
    """The outermost directories holding the project's own files (usually ``sys.modules``')."""
    return outermost(path.parent for path in files if not rules.is_ignored(path))


@dataclass(frozen=True, slots=True)
class Watch:
    """One directory for the observer, with or without its subdirectories."""

    directory: Path
    recursive: bool


def outermost(directories: Iterable[Path]) -> list[Path]:
    """The directories not inside another one of them, sorted."""
    roots: list[Path] = []
    for directory in sorted(set(directories), key=lambda path: len(path.parts)):
        if not any(root == directory or root in directory.parents for root in roots):
            roots.append(directory)
    return sorted(roots)


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """The watches to schedule, and the rules that judge their events (rooted at them)."""

    watches: tuple[Watch, ...]
    rules: PathRules

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.rules.roots


def plan_watches(directories: Iterable[Path], files: Iterable[Path], rules: PathRules) -> WatchPlan:
    """Watches covering ``directories`` (with their subtrees) and ``files`` (by their parent).

    A subtree without unwalked directories is one recursive watch; a directory that holds a
    virtualenv, ``node_modules`` or ``.git`` is watched alone and its other children are
    planned in turn, so those trees never cost a watch or an event.
    """
    roots = outermost(
        path for path in directories if path.is_dir() and not rules.is_ignored(path) and not rules.is_unwalked(path)
    )
    rules = rules.with_roots(roots)
    watches = [watch for root in roots for watch in _plan_tree(root, rules)[1]]
    lone = [
        directory
        for directory in sorted({path.parent for path in files})
        if rules.root_of(directory) is None and directory.is_dir() and not rules.is_ignored(directory)
    ]
    watches.extend(Watch(directory, recursive=False) for directory in lone)
    return WatchPlan(tuple(watches), rules.with_roots([*roots, *lone]))


def _plan_tree(directory: Path, rules: PathRules) -> tuple[bool, list[Watch]]:
    """(whether the subtree is free of unwalked directories, the watches covering it)."""
    clean, below = True, []
    for child in _subdirectories(directory):
        if rules.is_unwalked(child):
            clean = False
            continue
        child_clean, child_watches = _plan_tree(child, rules)
        clean = clean and child_clean
        below.extend(child_watches)
    if clean:
        return True, [Watch(directory, recursive=True)]
    return False, [Watch(directory, recursive=False), *below]


def _subdirectories(directory: Path) -> Iterator[Path]:
    try:
        with os.scandir(directory) as entries:
            children = [Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:  # vanished or unreadable: nothing to watch there
        return
    yield from sorted(children)


def files_changed_since(plan: WatchPlan, since: float, accept: Callable[[Path], bool]) -> list[Path]:
    """Accepted files under the plan's watches written (or moved in) after ``since``, and
    not in the future (clock skew must not loop restarts)."""
    now = time.time()
    found = []
    for path in _planned_files(plan):
        if accept(path):
            try:
                status = path.stat()
            except OSError:
                continue
            if since < max(status.st_mtime, status.st_ctime) and status.st_mtime <= now:
                found.append(path)
    return found


def _planned_files(plan: WatchPlan) -> Iterator[Path]:
    """Files under the watches, except in directories whose changes are ignored anyway."""
    for watch in plan.watches:
        for root, dirs, files in os.walk(watch.directory):
            if watch.recursive:
                dirs[:] = [
                    name
                    for name in dirs
                    if name not in IGNORED_DIR_NAMES and not plan.rules.is_unwalked(Path(root, name))
                ]
            else:
                dirs.clear()
            yield from (Path(root, name) for name in files)
