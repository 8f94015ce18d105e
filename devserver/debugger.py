"""``--debugger``: Werkzeug's interactive debugger for the exceptions Django turns into a 500 page.

Django catches every exception a view raises and renders a response (its technical 500 page
with ``DEBUG``), so a WSGI middleware such as Werkzeug's ``DebuggedApplication`` never sees
one. runserver_plus replaces ``django.views.debug.technical_500_response`` with a function
that raises; we change nothing of Django's or the project's: Django handles the exception as
usual (``process_exception`` middleware, ``got_request_exception`` receivers, the
``django.request`` log), our receiver of that signal keeps the exception in the request's
environ, and :class:`ExceptionsToDebugger` raises it again, with its traceback, once Django
returns, instead of passing Django's 500 response on.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, NamedTuple

from django.core.signals import got_request_exception

from .errors import ConfigurationError
from .extras import import_extra
from .wsgi.environ import Environ
from .wsgi.gateway import StartResponse, WSGIApplication

#: Where a request's unhandled exception waits between Django's signal and the re-raise.
EXCEPTION_KEY: Final = "devserver.debugger.exception"
_DISPATCH_UID: Final = "devserver.debugger"


class Debugger(NamedTuple):
    application: WSGIApplication
    #: Werkzeug's PIN for the console, or None when ``WERKZEUG_DEBUG_PIN=off`` turned it off.
    pin: str | None


def banner_line(pin: str | None) -> str:
    if pin is None:
        return "Debugger is on, with no PIN (WERKZEUG_DEBUG_PIN=off): anyone who can open a page can run code."
    return f"Debugger PIN: {pin} (Werkzeug's console asks for it before it runs code)"


def require_werkzeug() -> None:
    """Fail before serving (and before the reloader starts a child) when Werkzeug is missing."""
    import_extra("werkzeug.debug", extra="debugger", feature="--debugger", package="Werkzeug")


def check_address(addr: str, *, allow_remote: bool) -> None:
    """The debugger's console runs any Python code: only on loopback, unless explicitly allowed."""
    if allow_remote or is_loopback(addr):
        return
    shown = "0.0.0.0" if addr == "0" else addr
    raise ConfigurationError(
        f"--debugger lets whoever can open a page run code, and {shown!r} is not a loopback address: "
        "serve on 127.0.0.1 (or localhost, ::1), or add --debugger-allow-remote."
    )


def is_loopback(addr: str) -> bool:
    """Whether every address ``addr`` stands for is a loopback one (``0`` is runserver's ``0.0.0.0``)."""
    if addr == "0":
        return False
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(addr, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(entry[4][0]).is_loopback for entry in found)


def debugged(application: WSGIApplication, *, allowed_hosts: Sequence[str]) -> Debugger:
    """``application`` inside Werkzeug's ``DebuggedApplication``, with the code console on.

    Werkzeug answers console requests only for trusted ``Host`` headers (``localhost`` and
    ``127.0.0.1``); the project's ``ALLOWED_HOSTS`` are trusted as well, except ``*``.
    """
    debug = import_extra("werkzeug.debug", extra="debugger", feature="--debugger", package="Werkzeug")
    got_request_exception.connect(_keep_exception, weak=False, dispatch_uid=_DISPATCH_UID)
    wrapped = debug.DebuggedApplication(ExceptionsToDebugger(application), evalex=True)
    extra_hosts = [host for host in allowed_hosts if host != "*" and host not in wrapped.trusted_hosts]
    wrapped.trusted_hosts = [*wrapped.trusted_hosts, *extra_hosts]
    return Debugger(wrapped, wrapped.pin)


def _keep_exception(sender: object, request: Any = None, **kwargs: object) -> None:
    """``got_request_exception``: keep the first unhandled exception of a request we wrap."""
    environ = getattr(request, "environ", None)
    if isinstance(environ, dict) and EXCEPTION_KEY in environ and environ[EXCEPTION_KEY] is None:
        environ[EXCEPTION_KEY] = sys.exc_info()[1]


def _discard(data: bytes) -> None:
    """The ``write`` of a response the debugger replaces."""


class ExceptionsToDebugger:
    """Raises the exception Django handled, so the debugger around this application shows it.

    Django calls ``start_response`` for its 500 page after the signal, so that call is simply
    not passed on; the debugger then starts its own response.
    """

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        __traceback_hide__ = True  # Werkzeug leaves frames with this local out
        environ[EXCEPTION_KEY] = None

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            if environ.get(EXCEPTION_KEY) is not None:
                return _discard
            return start_response(status, headers, exc_info)

        result = self.application(environ, start)
        error = environ.pop(EXCEPTION_KEY, None)
        if error is None:
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()  # Django's request_finished: connections are closed as after any response
        environ["wsgi.errors"] = _NOWHERE  # django.request logged the traceback; Werkzeug would print it again
        raise error


class _Nowhere:
    """A ``wsgi.errors`` that drops what is written to it."""

    def write(self, text: str) -> int:
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        pass

    def flush(self) -> None:
        pass


_NOWHERE: Final = _Nowhere()
