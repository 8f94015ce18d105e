"""Timestamps formatted once a second, not once a request: the ``Date`` header and the access log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PerSecond:
    """``render(now)`` for the current whole second, computed at most once a second."""

    __slots__ = ("_render", "_second", "_value")

    def __init__(self, render: Callable[[int], str]) -> None:
        self._render = render
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._value = self._render(now)
            self._second = now
        return self._value


def http_date(seconds: int) -> str:
    """RFC 9110's IMF-fixdate, as ``email.utils.formatdate(usegmt=True)`` writes it."""
    t = time.gmtime(seconds)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def log_time(seconds: int) -> str:
    """``http.server``'s ``log_date_time_string()``, which runserver's access lines start with."""
    t = time.localtime(seconds)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year:04d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
