"""Everything a warm spare loaded from disk, and whether a fresh process would load the same.

A spare is only a shortcut: it may become the next child only if it runs exactly the code
a fresh process would. So, while it starts, it records (with an audit hook, the way Rails'
Spring records every file its preload required):

- every file it read (module sources through ``sys.modules``, plus any file opened for
  reading: a ``.env`` read by the settings, a ``.pth``, a JSON config);
- every directory the import system (or anyone) listed, with the names in it that can be
  imported (``*.py``, packages, extension modules, ``.pth`` files, ``*.dist-info``): a new
  module that would shadow one it imported, or a package installed or removed, changes them.

:meth:`Inventory.stale` then says why it must not be used: a file written since the
process was spawned (``ctime`` too, so a file replaced with an old ``mtime`` counts), a file
gone, a directory whose importable names differ, or a change that caused this restart and
is something it loaded (or is not Python at all: nobody can tell what reads it).
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .modules import module_origins

#: Names that matter to the import system in a directory (``__pycache__`` does not).
IMPORTABLE_SUFFIXES: Final = (*importlib.machinery.all_suffixes(), ".pth", ".egg-link", ".dist-info", ".egg-info")
#: Timestamps of files are taken from a coarse kernel clock (a tick behind ``time.time()``).
CLOCK_SLACK: Final = 0.05
#: Files that are not sources: device and process files change all the time.
_NOT_SOURCES: Final = ("/proc/", "/dev/", "/sys/")
#: Some file systems keep modification times in whole seconds (two for FAT).
_COARSE_MTIME_NS: Final = 2_000_000_000
_WRITE_FLAGS: Final = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def importable_names(directory: str) -> frozenset[str] | None:
    """The entries of ``directory`` that can change what an import finds (None if unreadable)."""
    try:
        with os.scandir(directory) as entries:
            return frozenset(
                entry.name
                for entry in entries
                if entry.name != "__pycache__" and (entry.name.endswith(IMPORTABLE_SUFFIXES) or _is_dir(entry))
            )
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Listing:
    """A directory's importable names, and its modification time when they were read."""

    mtime_ns: int | None
    names: frozenset[str] | None

    @classmethod
    def of(cls, directory: str) -> Listing:
        try:
            mtime_ns: int | None = os.stat(directory).st_mtime_ns  # before the listing: a later change shows
        except OSError:
            mtime_ns = None
        if mtime_ns is not None and time.time_ns() - mtime_ns < _COARSE_MTIME_NS:
            mtime_ns = None  # changed just now: a coarse clock could hide the next change; list it again
        return cls(mtime_ns, importable_names(directory))

    def differs(self, directory: str) -> bool:
        """Whether the importable names changed (listed again only if the directory changed)."""
        try:
            if os.stat(directory).st_mtime_ns == self.mtime_ns:
                return False
        except OSError:
            return self.names is not None
        return importable_names(directory) != self.names


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _read_only(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return not any(letter in mode for letter in "wax+")
    return isinstance(flags, int) and not flags & _WRITE_FLAGS


def _text_path(path: object) -> str | None:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or path.startswith(_NOT_SOURCES):
        return None
    return os.path.abspath(path)


class Recorder:
    """An audit hook that notes what this process reads and lists, until :meth:`stop`.

    Audit hooks cannot be removed; once stopped, this one returns at its first test.
    """

    def __init__(self) -> None:
        self.recording = False
        self.opened: dict[str, None] = {}  # insertion-ordered set
        self.listed: dict[str, Listing] = {}
        self._inside = False

    def start(self, path_entries: Iterable[str] = ()) -> None:
        """Record from now on; ``path_entries`` (``sys.path``) are listed at once."""
        for entry in path_entries:
            directory = os.path.abspath(entry or os.curdir)
            self._list(directory)
            for name in sorted(self.listed[directory].names or ()):
                if name.endswith(".pth"):  # read by ``site`` before anything could record it
                    self.opened[os.path.join(directory, name)] = None
        self.recording = True
        sys.addaudithook(self._hook)

    def stop(self) -> None:
        self.recording = False

    def _hook(self, event: str, arguments: tuple[Any, ...]) -> None:
        if not self.recording or self._inside:
            return
        if event == "open":
            path = _text_path(arguments[0])
            if path is not None and _read_only(arguments[1], arguments[2]) and "__pycache__" not in path:
                self.opened[path] = None
        elif event in ("os.listdir", "os.scandir"):
            path = _text_path(arguments[0] if arguments and arguments[0] is not None else os.curdir)
            if path is not None and path not in self.listed:
                self._list(path)

    def _list(self, directory: str) -> None:
        """Snapshot a directory's importable names before it is listed (first time only)."""
        self._inside = True  # our own scandir raises an audit event too
        try:
            self.listed.setdefault(directory, Listing.of(directory))
        finally:
            self._inside = False


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a process loaded, as of :meth:`take`; compared with the disk by :meth:`stale`."""

    #: Files changed after this (``time.time()``) may not be what was loaded.
    since: float
    files: frozenset[str]
    directories: dict[str, Listing] = field(default_factory=dict)

    @classmethod
    def take(cls, since: float, recorder: Recorder, modules: Iterable[Any] | None = None) -> Inventory:
        """Every module's file and every file and directory ``recorder`` saw."""
        loaded = list(sys.modules.values()) if modules is None else list(modules)
        files = {_real(path) for path in [*module_origins(loaded), *recorder.opened] if os.path.isfile(path)}
        directories = {_real_directory(path): listing for path, listing in recorder.listed.items()}
        return cls(since - CLOCK_SLACK, frozenset(files), directories)

    def watched_directories(self) -> set[str]:
        """Where a change would matter: every listed directory, and every loaded file's."""
        return set(self.directories) | {os.path.dirname(path) for path in self.files}

    def stale_change(self, changed: Sequence[str]) -> str | None:
        """Whether one of the files that caused this restart is something it loaded (or is not
        Python at all, so nobody can tell what reads it)."""
        for path in changed:
            if not path.endswith((".py", ".pyw")):
                return f"{path} changed (not a Python module: it may be read at start-up)"
            if _real(path) in self.files:
                return f"{path} changed"
        return None

    def stale_among(self, touched: Iterable[str]) -> str | None:
        """:meth:`stale`, judging only the paths known to have changed (a tripwire's)."""
        for path in sorted(touched):
            if path in self.files:
                return f"{path} changed"
            for directory in (path, os.path.dirname(path)):
                listing = self.directories.get(directory)
                if listing is not None and listing.differs(directory):
                    return f"the modules in {directory} changed"
        return None

    def stale(self, changed: Sequence[str] = ()) -> str | None:
        """Why a fresh process would load something else (None when it would not)."""
        reason = self.stale_change(changed)
        if reason is not None:
            return reason
        for path in self.files:
            try:
                status = os.stat(path)
            except OSError:
                return f"{path} was removed"
            if max(status.st_mtime, status.st_ctime) > self.since:
                return f"{path} changed"
        for directory, listing in self.directories.items():
            if listing.differs(directory):
                return f"the modules in {directory} changed"
        return None

    def __len__(self) -> int:
        return len(self.files)


def _real(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(_real_directory(directory), name)


@functools.lru_cache(maxsize=8192)
def _real_directory(directory: str) -> str:
    """Modules share directories: each is resolved once."""
    return os.path.realpath(directory)
