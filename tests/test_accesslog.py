"""Access lines: the direct writer must print exactly what Django's logging set-up prints."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.core.management.color import color_style
from django.utils.log import ServerFormatter

from devserver import accesslog
from devserver.accesslog import DIRECT_WRITER, log_cut, log_request

STATUSES = [101, 200, 204, 301, 304, 404, 403, 500, 503]


@pytest.fixture
def server_logger() -> Iterator[io.StringIO]:
    """``django.server`` configured as Django's DEFAULT_LOGGING does, writing to a buffer.

    pytest's log capture adds its handlers when the test body starts; each test calls
    :func:`only_default_handler` first to take them off again.
    """
    logger = logging.getLogger("django.server")
    saved = (logger.handlers[:], logger.filters[:], logger.propagate, logger.level)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter = ServerFormatter("[{server_time}] {message}", style="{")
    formatter.style = color_style(force_color=True)
    handler.setFormatter(formatter)
    handler.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    _DEFAULT_HANDLERS[:] = [handler]
    logger.filters[:] = []
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.handlers[:], logger.filters[:], logger.propagate, logger.level = saved


_DEFAULT_HANDLERS: list[logging.Handler] = []


def only_default_handler() -> None:
    logging.getLogger("django.server").handlers[:] = _DEFAULT_HANDLERS


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("status", STATUSES)
def test_direct_line_equals_the_logging_line(server_logger: io.StringIO, status: int) -> None:
    only_default_handler()
    assert DIRECT_WRITER.applies(logging.INFO)
    log_request("GET /caf%C3%A9?q=100% HTTP/1.1", status, 1234, 0.0031)
    direct = _lines(server_logger)
    logger = logging.getLogger("django.server")
    logger.addFilter(lambda record: True)  # any filter sends lines through logging itself
    try:
        assert not DIRECT_WRITER.applies(logging.INFO)
        log_request("GET /caf%C3%A9?q=100% HTTP/1.1", status, 1234, 0.0031)
    finally:
        logger.filters.clear()
    through_logging = _lines(server_logger)[len(direct) :]
    assert direct == through_logging
    assert '"GET /caf%C3%A9?q=100% HTTP/1.1" ' + f"{status} 1234 3.1ms" in direct[0]
    assert "\x1b[" in direct[0]  # coloured, as runserver's lines are on a terminal


def test_a_project_handler_gets_records_not_direct_writes(server_logger: io.StringIO) -> None:
    only_default_handler()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("django.server")
    logger.addHandler(Collect())
    log_request("GET / HTTP/1.1", 404, 10, 0.001, request="the socket")
    assert len(records) == 1
    assert records[0].status_code == 404  # type: ignore[attr-defined]
    assert records[0].request == "the socket"  # type: ignore[attr-defined]
    assert records[0].levelno == logging.WARNING


def test_levels_follow_runserver(server_logger: io.StringIO) -> None:
    only_default_handler()
    logging.getLogger("django.server").setLevel(logging.WARNING)
    log_request("GET /ok HTTP/1.1", 200, 1, 0.001)
    log_request("GET /missing HTTP/1.1", 404, 1, 0.001)
    log_request("GET /boom HTTP/1.1", 500, 1, 0.001)
    lines = _lines(server_logger)
    assert len(lines) == 2
    assert "/missing" in lines[0]
    assert "/boom" in lines[1]


def test_server_time_is_runserver_format() -> None:
    assert accesslog.SERVER_TIME.value()[2] == "/"
    day, clock = accesslog.SERVER_TIME.value().split(" ")
    assert len(day.split("/")) == 3
    assert len(clock.split(":")) == 3


@pytest.mark.parametrize("status", [200, 404, 500])
def test_the_sql_summary_ends_the_line_either_way(server_logger: io.StringIO, status: int) -> None:
    only_default_handler()
    log_request("GET /orders/ HTTP/1.1", status, 5123, 0.0412, queries=" 23q 12.5ms")
    logger = logging.getLogger("django.server")
    logger.addFilter(lambda record: True)
    try:
        log_request("GET /orders/ HTTP/1.1", status, 5123, 0.0412, queries=" 23q 12.5ms")
    finally:
        logger.filters.clear()
    direct, through_logging = _lines(server_logger)
    assert direct == through_logging
    assert '"GET /orders/ HTTP/1.1" ' + f"{status} 5123 41.2ms 23q 12.5ms" in direct


def test_a_cut_response_shows_the_status_sent_and_the_bytes_really_sent(server_logger: io.StringIO) -> None:
    only_default_handler()
    log_request("GET /events/ HTTP/1.1", 200, 1834, 4.0217)  # as the same response would show uncut
    log_cut("GET /events/ HTTP/1.1", 200, 1834, 4.0217)
    uncut, cut = _lines(server_logger)
    assert '"GET /events/ HTTP/1.1" 200 (cut) 1834 4021.7ms' in cut
    assert cut.split('"')[0] == uncut.split('"')[0]  # same timestamp and colour as a 200 gets


def test_a_response_cut_before_its_head_shows_no_status(server_logger: io.StringIO) -> None:
    only_default_handler()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logging.getLogger("django.server").addHandler(Collect())
    log_cut("GET /slow/ HTTP/1.1", None, 0, 5.0019)
    assert '"GET /slow/ HTTP/1.1" - (cut) 0 5001.9ms' in _lines(server_logger)[0]
    assert "\x1b[" not in _lines(server_logger)[0]  # no status, no status colour
    assert records[0].levelno == logging.WARNING
    assert not hasattr(records[0], "status_code")
