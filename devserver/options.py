"""Command-line options of ``devrun``: runserver's, plus ours, and the ``addrport`` parser."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from typing import Final, NamedTuple, TypeVar

from .backends import BACKENDS
from .conf import debounce_milliseconds, non_negative_seconds
from .errors import ConfigurationError

T = TypeVar("T")

#: runserver's pattern: ``port``, ``ipv4:port``, ``[ipv6]:port`` or ``fqdn:port``.
ADDRPORT: Final = re.compile(
    r"""^(?:
(?P<addr>
    (?P<ipv4>\d{1,3}(?:\.\d{1,3}){3}) |
    (?P<ipv6>\[[a-fA-F0-9:]+\]) |
    (?P<fqdn>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)
):)?(?P<port>\d+)$""",
    re.X,
)


def add_devrun_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of devrun's own (the command and ``python -m devserver`` both take them)."""
    add_runserver_arguments(parser)
    add_devserver_arguments(parser)
    add_interface_arguments(parser)
    add_reload_arguments(parser)
    add_smoke_arguments(parser)
    add_runserver_plus_arguments(parser)


def add_interface_arguments(parser: argparse.ArgumentParser) -> None:
    """``--asgi``/``--wsgi``: which application to serve when settings alone would choose otherwise."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--asgi",
        action="store_true",
        dest="force_asgi",
        help="Serve ASGI: settings.ASGI_APPLICATION, or Django's get_asgi_application() when it is not set.",
    )
    group.add_argument(
        "--wsgi",
        action="store_true",
        dest="force_wsgi",
        help="Serve WSGI (settings.WSGI_APPLICATION) even when settings.ASGI_APPLICATION is set.",
    )


def add_runserver_arguments(parser: argparse.ArgumentParser) -> None:
    """runserver's options (and staticfiles' ``--nostatic``/``--insecure``), same ``dest`` names."""
    parser.add_argument("addrport", nargs="?", help="Optional port number, or ipaddr:port")
    parser.add_argument(
        "--ipv6", "-6", action="store_true", dest="use_ipv6", help="Tells Django to use an IPv6 address."
    )
    parser.add_argument(
        "--nothreading",
        action="store_false",
        dest="use_threading",
        help="Serve one request at a time (the 'single' backend).",
    )
    parser.add_argument(
        "--noreload", action="store_false", dest="use_reloader", help="Tells Django to NOT use the auto-reloader."
    )
    if "--skip-checks" not in parser._option_string_actions:  # BaseCommand adds it on some versions
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")
    parser.add_argument(
        "--nostatic",
        action="store_false",
        dest="use_static_handler",
        help="Tells Django to NOT automatically serve static files at STATIC_URL.",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        dest="insecure_serving",
        help="Allows serving static files even if DEBUG is False.",
    )


def add_devserver_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help=f"Serving backend: {', '.join(BACKENDS)}, a name an installed package registers, or a dotted path "
        "(default: DEVSERVER['BACKEND'], else threaded for WSGI and asyncio for ASGI).",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="How long in-flight requests may run after Ctrl-C or SIGTERM (default: 5).",
    )


def add_reload_arguments(parser: argparse.ArgumentParser) -> None:
    """The reloader's options; each is also a ``DEVSERVER`` setting (``RELOAD_DIRS`` ...)."""
    parser.add_argument(
        "--reload-dir",
        action="append",
        dest="reload_dirs",
        type=_directory,
        metavar="DIR",
        help="Also watch DIR and its subdirectories (repeatable).",
    )
    parser.add_argument(
        "--reload-include",
        action="append",
        metavar="GLOB",
        help="Also restart when a file matching GLOB changes, besides *.py (repeatable). This wins over Django's "
        "template reload: --reload-include '*.html' restarts the server on template edits too.",
    )
    parser.add_argument(
        "--reload-exclude",
        action="append",
        metavar="GLOB",
        help="Ignore changes to files or directories matching GLOB (repeatable).",
    )
    parser.add_argument(
        "--reload-delay",
        type=_milliseconds,
        dest="reload_delay_ms",
        metavar="MS",
        help="Wait for MS milliseconds without changes before restarting, so bursts restart once (default: 50).",
    )
    parser.add_argument(
        "--reload-poll",
        action="store_const",
        const=True,
        help="Poll for file changes instead of using the operating system's notifications.",
    )


def reload_options(options: dict[str, object]) -> dict[str, object]:
    """The reload settings given on the command line, for ``ServerConfig.with_options``."""
    names = ("reload_dirs", "reload_include", "reload_exclude", "reload_delay_ms", "reload_poll")
    given = {name: options.get(name) for name in names}
    present = {name: value for name, value in given.items() if value is not None}
    return {name: tuple(value) if isinstance(value, list) else value for name, value in present.items()}


def backend_option(options: dict[str, object]) -> str | None:
    """The backend the command line asks for (``--nothreading`` means ``single``), or None."""
    backend = options.get("backend")
    if options.get("use_threading", True):
        return backend if isinstance(backend, str) else None
    if backend is not None and backend != "single":
        raise ConfigurationError(
            f"--nothreading selects the single backend; it cannot be combined with --backend {backend}."
        )
    return "single"


def _directory(value: str) -> str:
    if not os.path.isdir(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a directory")
    return value


def _number_option(validate: Callable[[float], T], unit: str) -> Callable[[str], T]:
    """An argparse ``type`` that applies the DEVSERVER setting's own validator (one rule, one place)."""

    def parse(value: str) -> T:
        try:
            return validate(float(value))
        except ValueError as expected:
            detail = expected if str(expected).startswith("a number") else f"a number of {unit}"
            raise argparse.ArgumentTypeError(f"{value!r} is not {detail}") from None

    return parse


_milliseconds = _number_option(debounce_milliseconds, "milliseconds")
_seconds = _number_option(non_negative_seconds, "seconds")


def add_smoke_arguments(parser: argparse.ArgumentParser) -> None:
    """Options for scripts and CI: the readiness file and the one-shot ``--check`` mode."""
    parser.add_argument(
        "--ready-file",
        metavar="PATH",
        help="Once the socket accepts, write a JSON document (url, host, port, pid, backend) here; removed at exit.",
    )
    parser.add_argument(
        "--check",
        nargs="+",
        type=_url_path,
        metavar="PATH",
        help="Request each PATH once, print a table, stop, and exit 0 if every status is below 500, else 1. "
        "Without an addrport, listens on a free port. Implies --noreload.",
    )
    parser.add_argument(
        "--check-strict",
        action="store_true",
        help="With --check: every status must be 2xx or 3xx.",
    )


def add_runserver_plus_arguments(parser: argparse.ArgumentParser) -> None:
    """What runserver_plus users come for: HTTPS, the in-browser debugger, each request's SQL."""
    parser.add_argument(
        "--cert-file",
        metavar="PATH",
        help="Serve HTTPS with this certificate (PEM); created, self-signed for localhost, when it does not exist.",
    )
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help="The certificate's private key (PEM), when it is not in the --cert-file file.",
    )
    parser.add_argument(
        "--debugger",
        action="store_true",
        help="Show Werkzeug's interactive debugger for unhandled exceptions (needs django-devrun[debugger]).",
    )
    parser.add_argument(
        "--debugger-allow-remote",
        action="store_true",
        help="Allow --debugger on an address other machines can reach (its console runs any code).",
    )
    parser.add_argument(
        "--print-sql",
        action="store_const",
        const=True,
        help="Print each SQL statement, formatted, with its time.",
    )


def plus_options(options: dict[str, object], *, debug: bool) -> dict[str, object]:
    """The HTTPS and SQL settings given on the command line, for ``ServerConfig.with_options``;
    the SQL summary is off unless ``settings.DEBUG`` (Django records queries only then, too)."""
    given = {name: options.get(name) for name in ("cert_file", "key_file", "print_sql")}
    present = {name: value for name, value in given.items() if value is not None}
    if not debug:
        present["sql_summary"] = False
    return present


def _url_path(value: str) -> str:
    if not value.startswith("/") or any(character.isspace() for character in value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a URL path (it must start with / and have no spaces)")
    return value


class Address(NamedTuple):
    addr: str
    port: str
    use_ipv6: bool
    raw_ipv6: bool


def parse_addrport(
    addrport: str | None, *, use_ipv6: bool, default_addr: str, default_addr_ipv6: str, default_port: str
) -> Address:
    """runserver's rules, plus a port range check; raises :class:`ConfigurationError`."""
    raw_ipv6 = False
    if not addrport:
        addr, port = "", default_port
    else:
        match = ADDRPORT.match(addrport)
        if match is None:
            raise ConfigurationError(f'"{addrport}" is not a valid port number or address:port pair.')
        addr, _ipv4, ipv6, fqdn, port = match.groups()
        addr = addr or ""
        if addr:
            if ipv6:
                addr = addr[1:-1]
                use_ipv6 = raw_ipv6 = True
            elif use_ipv6 and not fqdn:
                raise ConfigurationError(f'"{addr}" is not a valid IPv6 address.')
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigurationError(f"{port!r} is not a valid port number (0-65535).")
    if not addr:
        addr = default_addr_ipv6 if use_ipv6 else default_addr
        raw_ipv6 = use_ipv6
    return Address(addr, port, use_ipv6, raw_ipv6)
