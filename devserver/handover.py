"""Hand ``manage.py runserver`` (or ``devrun``) over to the supervisor that never imports the project.

Django's ``ManagementUtility`` sets the project up before it runs a command, and a
``SyntaxError`` in ``models.py`` fails that set-up in the process that would become the
reloader's parent. Its guard for the literal ``runserver`` catches the error, but then empties
the app registry and runs Django's own runserver and StatReloader, not ours. There is an
earlier moment, though: ``apps.populate()`` imports every app's module, in
``INSTALLED_APPS`` order, before any ``models.py``. An app module that calls
:func:`hand_over` there replaces the process (``os.execve``, same pid) with
:mod:`devserver.launcher`, which binds, supervises, and runs ``manage.py devrun`` as its
child, where broken code fails loudly and becomes the error page.

Only the reloader's parent hands over: only while Django's ``ManagementUtility`` sets up
for this process's own command line (not ``call_command()``, not a script whose first
argument happens to match), not in a reloader child (``RUN_MAIN``), not with
``--noreload``, ``--check``, ``--help`` or ``--version``, and not when
``DEVSERVER_NO_HANDOVER`` is set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Final

#: Any value: the command runs in this process, without handing over (set by the launcher when
#: there is nothing to supervise, or by a user whose debugger cannot follow ``exec``).
NO_HANDOVER_ENV: Final = "DEVSERVER_NO_HANDOVER"
#: Options after which the command runs in this process: nothing to supervise, or nothing to serve.
STAY_OPTIONS: Final = frozenset({"--noreload", "--check", "--help", "-h", "--version"})
#: What every child runs: a command that fails loudly (traceback, exit 1) on broken code.
CHILD_SUBCOMMAND: Final = "devrun"


def wants_hand_over(subcommand: str, argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether this process is about to become ``subcommand``'s reloader parent."""
    if len(argv) < 2 or argv[1] != subcommand:
        return False
    if environ.get("RUN_MAIN") == "true" or environ.get(NO_HANDOVER_ENV):
        return False
    return not any(arg.split("=", 1)[0] in STAY_OPTIONS for arg in argv[2:])


def project_directory(script: str) -> Path:
    """Where the project is: the directory of the script that runs it (manage.py), unless the
    script belongs to the environment (``django-admin``, ``python -m django``); then here."""
    from .reload.paths import environment_dirs

    path = Path(script).absolute()
    environment = environment_dirs()
    if path.is_file() and not any(directory in path.resolve().parents for directory in environment):
        return path.parent
    return Path.cwd()


def run_from_command_line() -> bool:
    """Whether Django's ``ManagementUtility.execute()`` for this process's command line is
    on the stack (it imports the apps in ``django.setup()``)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "execute" and frame.f_globals.get("__name__") == "django.core.management":
            return getattr(frame.f_locals.get("self"), "argv", None) == sys.argv
        frame = frame.f_back
    return False


def hand_over(subcommand: str) -> None:
    """Become the launcher if this process is ``subcommand``'s reloader parent; else return."""
    if not wants_hand_over(subcommand, sys.argv, os.environ) or not run_from_command_line():
        return
    from django.utils.autoreload import get_child_arguments

    from .launcher import Launch
    from .reload.process import interpreter_prefix

    try:
        original = [str(arg) for arg in get_child_arguments()]
    except RuntimeError:  # no script to run again: supervise in this process, as before
        return
    position = len(original) - len(sys.argv) + 1
    if original[position] != subcommand:
        return
    child = [*original[:position], CHILD_SUBCOMMAND, *original[position + 1 :]]
    launch = Launch(
        prog=f"{Path(sys.argv[0]).name} {subcommand}",
        arguments=sys.argv[2:],
        child=child,
        direct=original,
        project=project_directory(sys.argv[0]),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # The original command line stays visible after the bootstrap (ps, pkill -f "manage.py runserver").
    argv = [*interpreter_prefix(), "-c", launcher_bootstrap(), *sys.argv]
    os.execve(argv[0], argv, {**os.environ, **launch.to_environ()})


def launcher_bootstrap() -> str:
    """``python -c`` code that runs the launcher wherever ``devserver`` was imported from (a
    manage.py may have put it on ``sys.path`` itself)."""
    import devserver

    home = str(Path(devserver.__file__).resolve().parent.parent)
    return (
        f"import sys; sys.path.insert(0, {home!r}); from devserver.launcher import main; "
        f"sys.path.remove({home!r}); sys.exit(main())"
    )
