"""``python -m devserver`` and the ``devrun`` script: the reloader's supervisor, without the project.

``manage.py devrun`` supervises from a process that has run ``django.setup()``, so a
``SyntaxError`` in ``models.py`` that is there at launch stops it before it binds. This
process never imports the project. It parses devrun's command line, binds the socket, and
runs ``manage.py devrun`` with everything the command line gave as the supervisor's child,
so code broken at launch gets what code broken later gets: the error on the console and as
a 500 page, a watch on the project directory, and the fix served.

It reads no settings: the command line's options and the defaults apply until a child has
loaded ``DEVSERVER`` and reported it (see :mod:`.reload.handoff`). ``manage.py runserver``
(with the ``devserver.runserver`` app) and ``manage.py devrun`` hand their process over to
it (:mod:`.handover`), with the original command in :data:`LAUNCH_ENV`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from .backends import backend_path
from .banner import display_host, version_text
from .conf import ServerConfig
from .errors import BindError, ConfigurationError, DevserverError
from .handover import NO_HANDOVER_ENV
from .listener import bind_listener, bound_port
from .options import add_devrun_arguments, backend_option, parse_addrport, reload_options
from .readiness import ReadyFile

#: Set by a hand-over: what to supervise (a JSON :class:`Launch`); read once and removed.
LAUNCH_ENV: Final = "DEVSERVER_LAUNCH"
#: The file a standalone launch runs, unless ``--manage`` names another.
MANAGE_PY: Final = "manage.py"
#: runserver's defaults (devrun's too: ``Command.default_addr`` ...), without importing it.
DEFAULT_ADDR: Final = "127.0.0.1"
DEFAULT_ADDR_IPV6: Final = "::1"
DEFAULT_PORT: Final = "8000"


@dataclass(frozen=True, slots=True)
class Launch:
    """What to supervise, and how to run it when there is nothing to supervise."""

    #: How the command was called, for usage and help.
    prog: str
    #: devrun's arguments, as given.
    arguments: list[str]
    #: What each child runs (the supervisor adds ``RUN_MAIN=true`` and the socket).
    child: list[str]
    #: What this process becomes with ``--noreload`` or ``--check``.
    direct: list[str]
    #: Watched after a crash, with ``--reload-dir``: the directory manage.py is in.
    project: Path
    #: The manage.py a standalone launch runs (None after a hand-over: it already ran).
    manage: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Launch | None:
        document = environ.get(LAUNCH_ENV)
        if not document:
            return None
        fields: dict[str, Any] = json.loads(document)
        return cls(
            prog=str(fields["prog"]),
            arguments=[str(arg) for arg in fields["arguments"]],
            child=[str(arg) for arg in fields["child"]],
            direct=[str(arg) for arg in fields["direct"]],
            project=Path(fields["project"]),
        )

    def to_environ(self) -> dict[str, str]:
        fields = {
            "prog": self.prog,
            "arguments": self.arguments,
            "child": self.child,
            "direct": self.direct,
            "project": str(self.project),
        }
        return {LAUNCH_ENV: json.dumps(fields)}

    @classmethod
    def standalone(cls, argv: Sequence[str], prog: str) -> Launch:
        """``python -m devserver [--manage PATH] [devrun's arguments]``."""
        from .reload.process import interpreter_prefix

        manage, arguments = split_manage_option(argv)
        path = Path(manage or MANAGE_PY)
        command = [*interpreter_prefix(), str(path), "devrun", *arguments]
        return cls(prog, arguments, command, command, path.absolute().parent, manage=path)


def split_manage_option(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--manage PATH`` (ours, never the child's), and devrun's arguments in their order."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--manage")
    known, rest = parser.parse_known_args(list(argv))
    manage: str | None = known.manage
    return manage, rest


def devrun_parser(launch: Launch) -> argparse.ArgumentParser:
    """devrun's options, with Django's common ones, without importing Django's management
    package: the first child starts sooner. Its option strings are devrun's (a test holds
    them to it), so everything is validated here and passed on as given."""
    import django

    parser = argparse.ArgumentParser(prog=launch.prog)
    if launch.manage is not None:
        parser.description = (
            "Run `manage.py devrun` under a supervisor that never imports the project: code broken "
            "at launch gets the error page and is served once fixed, instead of stopping the server."
        )
        parser.add_argument("--manage", metavar="PATH", help=f"The manage.py to run (default: ./{MANAGE_PY}).")
    parser.add_argument("--version", action="version", version=version_text(django.get_version()))
    parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1, help="Verbosity level.")
    parser.add_argument("--settings", help="The settings module, e.g. myproject.settings.")
    parser.add_argument("--pythonpath", help="A directory to add to the Python path.")
    parser.add_argument("--traceback", action="store_true", help="Raise on CommandError exceptions.")
    parser.add_argument("--no-color", action="store_true", help="Don't colorize the command output.")
    parser.add_argument("--force-color", action="store_true", help="Force colorization of the command output.")
    add_devrun_arguments(parser)
    return parser


def become(argv: Sequence[str]) -> NoReturn:
    """Replace this process with ``argv``, which then does not hand over again."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], list(argv), {**os.environ, NO_HANDOVER_ENV: "1"})


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    launch = Launch.from_environ(os.environ)
    os.environ.pop(LAUNCH_ENV, None)  # the children must not see it
    if launch is None:
        arguments = sys.argv[1:] if argv is None else list(argv)
        launch = Launch.standalone(arguments, prog or Path(sys.argv[0]).name)
    options = vars(devrun_parser(launch).parse_args(launch.arguments))  # --help, --version, or usage and exit 2
    try:
        if launch.manage is not None and not launch.manage.is_file():
            raise ConfigurationError(
                f"{launch.manage} not found: run {launch.prog} where manage.py is, or give --manage PATH."
            )
        if not options["use_reloader"] or options.get("check"):
            become(launch.direct)  # nothing to supervise: the command as it would run anyway
        return supervise(launch, options)
    except DevserverError as error:
        sys.stderr.write(f"Error: {error}\n")
        return error.exit_status


def supervise(launch: Launch, options: dict[str, Any]) -> int:
    """Bind, then run the children until a signal stops them; the ready file goes at the end."""
    from .reload.supervisor import Supervisor

    address = parse_addrport(
        options["addrport"],
        use_ipv6=options["use_ipv6"],
        default_addr=DEFAULT_ADDR,
        default_addr_ipv6=DEFAULT_ADDR_IPV6,
        default_port=DEFAULT_PORT,
    )
    backend = backend_option(options)
    if backend is not None:
        backend_path(backend)  # a misspelt name is a bad option; a dotted path is the child's to import
    if options["check_strict"]:
        raise ConfigurationError("--check-strict only makes sense with --check PATH [PATH ...].")
    ready_file = ReadyFile(options["ready_file"]) if options["ready_file"] else None
    if ready_file is not None:
        ready_file.validate()
        ready_file.remove()  # left by an earlier run; the child writes it once it serves
    config = ServerConfig().with_options(
        shutdown_timeout=options["shutdown_timeout"],
        cert_file=options["cert_file"],
        key_file=options["key_file"],
        **reload_options(options),
    )
    prepare_https(config)
    try:
        listener = bind_listener(address.addr, int(address.port), ipv6=address.use_ipv6)
    except BindError:
        # runserver reports a bad setting (ALLOWED_HOSTS) before a port in use: the command,
        # run as it would be without a reloader, reads the settings, then fails to bind in
        # runserver's words and with its status.
        become([*launch.direct, "--noreload"])
    try:
        with listener:
            scheme = "https" if options.get("cert_file") else "http"
            url = f"{scheme}://{display_host(address.addr, raw_ipv6=address.raw_ipv6)}:{bound_port(listener)}/"
            supervisor = Supervisor(
                listener,
                config,
                write=_write_line,
                command=launch.child,
                module_files=lambda: [launch.project / MANAGE_PY],  # the crash watch covers its directory
                url=url,
                verbosity=options["verbosity"],
            )
            return supervisor.run()
    finally:
        if ready_file is not None:
            ready_file.remove()


def prepare_https(config: ServerConfig) -> None:
    """``--cert-file``: create a missing certificate here, before any child, so that the error
    page of a project broken at launch can speak HTTPS with it (a child finds it made)."""
    from .tls.files import TLSFiles, prepare_certificate

    files = TLSFiles.from_settings(config.cert_file, config.key_file)
    if files is not None:
        created = prepare_certificate(files)
        if created:
            _write_line(created)


def _write_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
