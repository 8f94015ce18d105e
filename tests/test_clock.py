"""Per-second timestamps."""

from __future__ import annotations

import time
from email.utils import formatdate

from devserver.clock import PerSecond, http_date, log_time


def test_http_date_matches_the_standard_library() -> None:
    for seconds in (0, 951782400, 1_764_400_000, 2_000_000_000):
        assert http_date(seconds) == formatdate(seconds, usegmt=True)


def test_log_time_matches_http_server() -> None:
    seconds = 1_764_400_000
    t = time.localtime(seconds)
    assert log_time(seconds) == time.strftime("%d/%b/%Y %H:%M:%S", t)


def test_per_second_renders_once_a_second() -> None:
    calls: list[int] = []

    def render(now: int) -> str:
        calls.append(now)
        return str(now)

    cached = PerSecond(render)
    first = cached.value()
    assert cached.value() == first
    assert len(calls) in (1, 2)  # two only if a second boundary fell between the calls
