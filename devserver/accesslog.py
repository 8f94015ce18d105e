"""Access lines on the ``django.server`` logger, in runserver's format, so ``LOGGING`` keeps working.

Django's ``ServerFormatter`` colours lines by ``record.status_code`` and prefixes
``record.server_time``; we fill both, and add the time taken.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final

from django.utils.log import ServerFormatter

from .clock import PerSecond, log_time

logger: Final = logging.getLogger("django.server")

SERVER_TIME: Final = PerSecond(log_time)


ACCESS_FORMAT: Final = '"%s" %s %s %.1fms'
#: A response the server cut: the status if its head went out (else ``-``), then the body bytes sent.
CUT_FORMAT: Final = '"%s" %s (cut) %s %.1fms'
_PLACEHOLDER: Final = "\x00"


def log_request(
    request_line: str, status: int, size: int, seconds: float, request: object = None, *, queries: str = ""
) -> None:
    """One line per response: ``"GET / HTTP/1.1" 200 1234 3.1ms``, then ``queries`` (`` 23q 12.5ms``)."""
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    if not logger.isEnabledFor(level):
        return
    args = (request_line, status, size, seconds * 1000)
    if DIRECT_WRITER.applies(level):
        DIRECT_WRITER.write(status, ACCESS_FORMAT % args + queries)
        return
    extra = {"request": request, "server_time": SERVER_TIME.value(), "status_code": status}
    if queries:
        logger.log(level, ACCESS_FORMAT + "%s", *args, queries, extra=extra)
    else:
        logger.log(level, ACCESS_FORMAT, *args, extra=extra)


def log_cut(request_line: str, status: int | None, size: int, seconds: float, request: object = None) -> None:
    """A response cut by a shutdown: ``"GET /events/ HTTP/1.1" 200 (cut) 1834 4021.7ms``, or
    ``- (cut) 0`` when the view was still running and the client got nothing.

    Rare, so it always goes through ``logging``. A cut before any head is a warning.
    """
    if status is None:
        level, shown, extra = logging.WARNING, "-", {"request": request, "server_time": SERVER_TIME.value()}
    else:
        level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        shown, extra = str(status), {"request": request, "server_time": SERVER_TIME.value(), "status_code": status}
    logger.log(level, CUT_FORMAT, request_line, shown, size, seconds * 1000, extra=extra)


class DirectWriter:
    """Django's own ``django.server`` set-up, written without building a LogRecord.

    Building and formatting a record costs more than all of the HTTP layer (~35 µs a request).
    When the logger is configured exactly as Django's DEFAULT_LOGGING leaves it (one
    StreamHandler, a ServerFormatter with ``[{server_time}] {message}``, no filters), the line is
    written as that formatter would write it; any other configuration goes through ``logging``.
    """

    def __init__(self) -> None:
        self._handler: logging.StreamHandler[Any] = logging.StreamHandler()
        self._formatter = ServerFormatter()
        #: Status → the formatter's colour codes around a message (Django builds them per call).
        self._colours: dict[int, tuple[str, str]] = {}

    def applies(self, level: int) -> bool:
        """Whether the configuration is Django's default, so the line can be written directly."""
        handlers = logger.handlers
        if len(handlers) != 1 or logger.filters or logger.propagate:
            return False
        handler = handlers[0]
        if handler is not self._handler and not self._adopt(handler):
            return False
        return not handler.filters and level >= handler.level and handler.formatter is self._formatter

    def _adopt(self, handler: logging.Handler) -> bool:
        formatter = handler.formatter
        if type(handler) is not logging.StreamHandler or not isinstance(formatter, ServerFormatter):
            return False
        if type(formatter) is not ServerFormatter or formatter._fmt != "[{server_time}] {message}":
            return False
        if not isinstance(formatter._style, logging.StrFormatStyle):
            return False
        self._handler, self._formatter = handler, formatter
        self._colours = {}
        return True

    def write(self, status: int, message: str) -> None:
        handler = self._handler
        colours = self._colours.get(status)
        if colours is None:
            colours = self._colours[status] = self._colours_for(status)
        line = f"[{SERVER_TIME.value()}] {colours[0]}{message}{colours[1]}\n"
        with handler.lock or contextlib.nullcontext():
            try:
                handler.stream.write(line)
                handler.stream.flush()
            except (OSError, ValueError):
                handler.handleError(logging.makeLogRecord({"msg": message}))

    def _colours_for(self, status: int) -> tuple[str, str]:
        """What the formatter's style puts before and after a message of this status."""
        before, _, after = _colour(self._formatter.style, status, _PLACEHOLDER).partition(_PLACEHOLDER)
        return before, after


def _colour(style: Any, status: int, message: str) -> str:
    """ServerFormatter's colours, by status."""
    if 200 <= status < 300:
        return str(style.HTTP_SUCCESS(message))
    if 100 <= status < 200:
        return str(style.HTTP_INFO(message))
    if status == 304:
        return str(style.HTTP_NOT_MODIFIED(message))
    if 300 <= status < 400:
        return str(style.HTTP_REDIRECT(message))
    if status == 404:
        return str(style.HTTP_NOT_FOUND(message))
    if 400 <= status < 500:
        return str(style.HTTP_BAD_REQUEST(message))
    return str(style.HTTP_SERVER_ERROR(message))


DIRECT_WRITER: Final = DirectWriter()


def log_https_attempt(request: object = None) -> None:
    """runserver's own hint when a browser speaks TLS to the plain-HTTP port."""
    extra = {"request": request, "server_time": SERVER_TIME.value(), "status_code": 500}
    logger.error("You're accessing the development server over HTTPS, but it only supports HTTP.", extra=extra)


def log_http_attempt(url: str, request: object = None) -> None:
    """The converse of :func:`log_https_attempt`: plain HTTP on the port that serves HTTPS."""
    extra = {"request": request, "server_time": SERVER_TIME.value(), "status_code": 400}
    logger.warning("You're accessing the development server over HTTP, but it only serves HTTPS: %s", url, extra=extra)
