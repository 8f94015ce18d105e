"""Access lines on the ``django.server`` logger, in runserver's format, so ``LOGGING`` keeps working.

Django's ``ServerFormatter`` colours lines by ``record.status_code`` and prefixes
``record.server_time``; we fill both, and add the time taken.
"""

from __future__ import annotations

import logging
import time
from typing import Final

logger: Final = logging.getLogger("django.server")

_MONTHS: Final = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ServerTime:
    """``http.server``'s ``log_date_time_string()``, formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            t = time.localtime(now)
            day = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year:04d}"
            self._value = f"{day} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
            self._second = now
        return self._value


SERVER_TIME: Final = ServerTime()


def log_request(request_line: str, status: int, size: int, seconds: float, request: object = None) -> None:
    """One line per response: ``"GET / HTTP/1.1" 200 1234 3.1ms``."""
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    if not logger.isEnabledFor(level):
        return
    extra = {"request": request, "server_time": SERVER_TIME.value(), "status_code": status}
    logger.log(level, '"%s" %s %s %.1fms', request_line, status, size, seconds * 1000, extra=extra)


def log_https_attempt(request: object = None) -> None:
    """runserver's own hint when a browser speaks TLS to the plain-HTTP port."""
    extra = {"request": request, "server_time": SERVER_TIME.value(), "status_code": 500}
    logger.error("You're accessing the development server over HTTPS, but it only supports HTTP.", extra=extra)
