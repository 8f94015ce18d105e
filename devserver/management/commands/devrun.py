"""``manage.py devrun``: runserver's command half, with devserver's server half.

It subclasses Django's ``runserver`` command and keeps its hook names (``get_handler``,
``inner_run``, ``on_bind``, ``default_addr``, ``default_port``, ``default_addr_ipv6``), so
code written against runserver can subclass it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from argparse import ArgumentParser
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, cast

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.runserver import Command as RunserverCommand
from django.db import connections
from django.utils import autoreload

from ...backends import resolve_backend
from ...backends.base import Backend
from ...backends.inflight import cut_in_flight
from ...banner import banner_lines, display_host, production_warning, version_text
from ...conf import ServerConfig, load_config
from ...errors import EXIT_OK, EXIT_USAGE, RESTART_EXIT_CODE, ConfigurationError, DevserverError
from ...interface import (
    DEFAULT_BACKENDS,
    WSGI,
    Application,
    check_backend,
    choose_interface,
    describe_backend,
    load_application,
    start,
)
from ...listener import bind_listener, bound_port, inherited_listener
from ...options import (
    add_devrun_arguments,
    backend_option,
    parse_addrport,
    plus_options,
    reload_options,
)
from ...readiness import Readiness, ReadyFile, is_reloader_child, signal_pid
from ...runserver_static import serves_static_by_default
from ...startup import resume_collection
from ...system_checks import runserver_check_kwargs

if TYPE_CHECKING:
    from ...reload.child import ReloaderChild
    from ...smoke import SmokeCheck
    from ...wsgi.gateway import WSGIApplication


class Command(RunserverCommand):
    help = "Starts devserver, a faster and sturdier drop-in for runserver, and serves static files."
    #: In a reloader child (``RUN_MAIN=true``): the link to the supervisor and the watcher.
    reloader_child: ReloaderChild | None = None
    #: ``--debugger``: whether to wrap the handler, and the PIN the banner shows once it is.
    use_debugger = False
    debugger_pin: str | None = None
    #: "wsgi" or "asgi", chosen in ``prepare()``; runserver's hooks called alone serve WSGI.
    interface: str = WSGI

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        version = parser._option_string_actions.get("--version")
        if version is not None:  # BaseCommand's prints Django's version alone
            version.version = version_text(self.get_version())  # type: ignore[attr-defined]
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_devrun_arguments(parser)
        parser.set_defaults(use_static_handler=serves_static_by_default())  # as the project's runserver

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not settings.ALLOWED_HOSTS:
            # A bad setting (2, as every other); runserver says 1, but its reloader's parent checks
            # this before any child, where devrun's supervisor has handed over to its first child.
            raise CommandError("You must set settings.ALLOWED_HOSTS if DEBUG is False.", returncode=EXIT_USAGE)
        try:
            self.prepare(**options)
        except DevserverError as error:
            raise CommandError(str(error), returncode=error.exit_status) from None
        if options.get("check"):
            options["use_reloader"] = False  # a one-shot check has nothing to reload
        try:
            self.run(**options)
        finally:
            self.withdraw_ready()  # a reloader's supervisor ends here, and it owns the ready file

    def prepare(self, **options: Any) -> None:
        """Parse ``addrport`` into runserver's attributes and validate everything else."""
        address = parse_addrport(
            options["addrport"],
            use_ipv6=options["use_ipv6"],
            default_addr=self.default_addr,
            default_addr_ipv6=self.default_addr_ipv6,
            default_port="0" if options.get("check") else str(self.default_port),
        )
        self.addr, self.port = address.addr, address.port
        self.use_ipv6, self._raw_ipv6 = address.use_ipv6, address.raw_ipv6
        config = load_config(getattr(settings, "DEVSERVER", None))
        self.interface = choose_interface(
            force_asgi=options.get("force_asgi", False), force_wsgi=options.get("force_wsgi", False)
        )
        self.server_config: ServerConfig = config.with_options(
            backend=backend_option(options),
            shutdown_timeout=options.get("shutdown_timeout"),
            **reload_options(options),
            **plus_options(options, debug=settings.DEBUG),
        )
        backend_name = self.server_config.backend or DEFAULT_BACKENDS[self.interface]
        self.backend_class: type[Backend] = resolve_backend(backend_name)
        check_backend(self.backend_class, backend_name, self.interface)
        self.prepare_smoke(**options)
        self.prepare_https()
        self.prepare_debugger(**options)

    def prepare_smoke(self, **options: Any) -> None:
        """Validate ``--ready-file`` and ``--check-strict``; clear a ready file left by an earlier run."""
        if options.get("check_strict") and not options.get("check"):
            raise ConfigurationError("--check-strict only makes sense with --check PATH [PATH ...].")
        path = options.get("ready_file")
        self.ready_file = ReadyFile(path) if path else None
        if self.ready_file is not None:
            self.ready_file.validate()
            if not is_reloader_child():  # the supervisor's ready file stays while its child restarts
                self.ready_file.remove()

    def prepare_https(self) -> None:
        """``--cert-file``: create a missing certificate, and load the pair once so a bad one fails now."""
        from ...tls.files import TLSFiles, prepare_certificate

        files = TLSFiles.from_settings(self.server_config.cert_file, self.server_config.key_file)
        if files is None:
            return
        from ...tls.context import server_context  # ssl: only for HTTPS

        created = prepare_certificate(files)
        if created:
            self.stdout.write(created)
        server_context(files)
        if not getattr(self.backend_class, "serves_tls", False):
            raise ConfigurationError(
                f"The {self.backend_class.name} backend does not serve HTTPS (its class does not set "
                "serves_tls = True): use --backend threaded or single."
            )
        self.protocol = "https"

    def prepare_debugger(self, **options: Any) -> None:
        """``--debugger``: Werkzeug must be installed, and the address loopback unless allowed."""
        if not options.get("debugger"):
            if options.get("debugger_allow_remote"):
                raise ConfigurationError("--debugger-allow-remote only makes sense with --debugger.")
            return
        if self.interface != WSGI:
            raise ConfigurationError(
                "--debugger wraps a WSGI application (Werkzeug's debugger); this project is served as ASGI: "
                "add --wsgi to serve it through WSGI_APPLICATION with the debugger."
            )
        from ...debugger import check_address, require_werkzeug

        require_werkzeug()
        check_address(self.addr, allow_remote=options.get("debugger_allow_remote", False))
        self.use_debugger = True

    def run(self, **options: Any) -> None:
        """Serve; with the reloader, this process supervises and the server runs in a child."""
        if options["use_reloader"]:
            if not is_reloader_child():
                resume_collection()  # the supervisor lives long and does little
                sys.exit(self.supervise(verbosity=options.get("verbosity", 1)))
            from ...reload.child import ReloaderChild
            from ...reload.handoff import leave_ctrl_c_to_the_supervisor

            self.reloader_child = ReloaderChild.from_environ()
            self.reloader_child.report_config(self.server_config)
            self.reloader_child.watch_supervisor()
            leave_ctrl_c_to_the_supervisor()
        self.inner_run(None, **options)

    def supervise(self, verbosity: int = 1) -> int:
        """The reloader's parent: bind once, then run this command as a child until stopped."""
        from ...reload.supervisor import Supervisor

        try:
            listener = bind_listener(self.addr, int(self.port), ipv6=self.use_ipv6)
        except DevserverError as error:
            self.stderr.write(f"Error: {error}")
            return error.exit_status
        with listener:
            url = f"{self.protocol}://{display_host(self.addr, raw_ipv6=self._raw_ipv6)}:{bound_port(listener)}/"
            return Supervisor(listener, self.server_config, write=self.stderr.write, url=url, verbosity=verbosity).run()

    def get_handler(self, *args: Any, **options: Any) -> Application:  # type: ignore[override]  # WSGI or ASGI
        """The WSGI or ASGI application, wrapped for static files when runserver would serve them (and
        in Werkzeug's debugger with ``--debugger``)."""
        handler = load_application(
            self.interface,
            use_static_handler=options.get("use_static_handler", True),
            insecure_serving=options.get("insecure_serving", False),
        )
        if self.use_debugger:
            from ...debugger import debugged

            handler, self.debugger_pin = debugged(
                cast("WSGIApplication", handler), allowed_hosts=settings.ALLOWED_HOSTS
            )
        return handler

    def inner_run(self, *args: Any, **options: Any) -> None:
        autoreload.raise_last_exception()
        gc.disable()  # see devserver.startup: apps.py already did this when run as `manage.py devrun`
        shutdown_message = options.get("shutdown_message", "")
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            self.check(**runserver_check_kwargs(self, options))
        self.check_migrations()
        for connection in connections.all(initialized_only=True):
            connection.close()
        try:
            handler = self.get_handler(*args, **options)
            listener = inherited_listener() or bind_listener(self.addr, int(self.port), ipv6=self.use_ipv6)
        except DevserverError as error:
            self.stderr.write(f"Error: {error}")
            sys.exit(error.exit_status)
        backend = self.backend_class(listener, handler, self.server_config)
        previous = self._install_signal_handlers(backend)  # before the banner: a script may signal at once
        self.on_bind(bound_port(listener))
        try:
            start(backend)  # an ASGI application's lifespan startup, before anyone hears "ready"
        except DevserverError as error:
            self.stderr.write(f"Error: {error}")
            sys.exit(error.exit_status)
        self.watch_for_changes(backend)
        readiness = self.announce_ready(bound_port(listener))
        check = self.start_check(backend, readiness, options.get("check"))
        resume_collection()
        try:
            backend.serve_forever()
        finally:
            for signum, handler_before in previous.items():
                signal.signal(signum, handler_before)
            self.withdraw_ready()
        if self.reloader_child is not None and self.reloader_child.restarting:
            self.reloader_child.leave()  # no connection handed to us may be lost with this process
            self.leave(backend, RESTART_EXIT_CODE)
        if shutdown_message:
            self.stdout.write(shutdown_message)
        self.leave(backend, self.report_check(check, strict=options.get("check_strict", False)) if check else EXIT_OK)

    def leave(self, backend: Backend, status: int) -> NoReturn:
        """Exit with ``status``; at once if application code cut at the deadline still runs in a
        thread (the asyncio backend's sync views): a normal exit would wait for it to finish."""
        if getattr(backend, "abandoned_threads", False):
            self.stdout.flush()
            self.stderr.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        sys.exit(status)

    def on_bind(self, server_port: int) -> None:
        """runserver's contract: needs only ``addr``, ``_raw_ipv6`` and ``protocol`` (Django's tests call it so)."""
        host = display_host(self.addr, raw_ipv6=self._raw_ipv6)
        backend_class: type[Backend] | None = getattr(self, "backend_class", None)
        lines = banner_lines(
            django_version=self.get_version(),
            settings_module=settings.SETTINGS_MODULE,
            url=f"{self.protocol}://{host}:{server_port}/",
            backend=describe_backend(backend_class, self.server_config) if backend_class is not None else None,
            interface=self.interface,
        )
        self.stdout.write("\n".join(lines))
        if self.use_debugger:
            from ...debugger import banner_line

            self.stdout.write(banner_line(self.debugger_pin))
        warning = production_warning()
        if warning:
            self.stdout.write(self.style.WARNING(warning))
        self.stdout.flush()

    def announce_ready(self, server_port: int) -> Readiness:
        """Write the ready file, then print the ready line; called once signals stop the server cleanly."""
        readiness = Readiness.for_address(
            self.addr, server_port, backend=self.backend_class.name, pid=signal_pid(), scheme=self.protocol
        )
        if self.ready_file is not None:
            self.ready_file.write(readiness)
        self.stdout.write(readiness.ready_line())
        self.stdout.flush()
        return readiness

    def watch_for_changes(self, backend: Backend) -> None:
        """In a reloader child: watch files, then say why it restarted. A change that needs a
        restart stops ``backend`` gracefully and the command exits with the restart code."""
        child = self.reloader_child
        if child is None:
            return
        child.serving(backend, self.server_config, warn=self.stderr.write)
        summary = child.reload_summary()  # a change after this line is never missed: the watcher catches up
        if summary:
            self.stdout.write(summary)
            self.stdout.flush()

    def withdraw_ready(self) -> None:
        """Remove the ready file (once serving stops, and at exit), unless a reloader's supervisor owns it."""
        if self.ready_file is not None and not is_reloader_child():
            self.ready_file.remove()

    def start_check(self, backend: Backend, readiness: Readiness, paths: list[str] | None) -> SmokeCheck | None:
        """``--check``: request each path on a thread, then stop the backend."""
        if not paths:
            return None
        from ...smoke import SmokeCheck  # only --check needs it; startup time counts

        tls = None
        if self.server_config.cert_file is not None:
            from ...tls.context import client_context

            tls = client_context(self.server_config.cert_file)  # the certificate served is the one given
        check = SmokeCheck(paths, readiness.host, readiness.port, tls=tls)
        check.start(when_done=backend.shutdown)
        return check

    def report_check(self, check: SmokeCheck, *, strict: bool) -> int:
        """Print the table and the failures' first lines; the exit status is the verdict."""
        from ...smoke import report_lines, verdict

        results = check.finish()
        status = verdict(results, len(check.paths), strict=strict)
        *table, summary = report_lines(results, len(check.paths), strict=strict)
        for line in table:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(summary) if status == EXIT_OK else self.style.ERROR(summary))
        self.stdout.flush()
        return status

    def _install_signal_handlers(self, backend: Backend) -> dict[int, Any]:
        """SIGINT and SIGTERM begin a graceful stop; a second one exits at once."""
        received: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if received:
                with contextlib.suppress(OSError):  # a CI script waits on this file: never leave it behind
                    self.withdraw_ready()
                cut_in_flight(backend)  # their "(cut)" access lines come before the exit
                self.stderr.write("Forced exit.")
                sys.stderr.flush()
                os._exit(1)
            received.append(signum)
            backend.shutdown()  # first: a write can fail if the signal interrupted one
            with contextlib.suppress(RuntimeError):  # "reentrant call" inside a buffered write
                self.stdout.write("Shutting down (press CONTROL-C again to force)...")
                self.stdout.flush()

        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
        if self.reloader_child is not None:  # the supervisor relays Ctrl-C as SIGTERM: one signal, not two
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return previous
