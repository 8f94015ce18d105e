"""Responses in flight: a shutdown cuts them, and each is logged once, by whoever takes it."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO

import pytest

from devserver.backends.inflight import ResponsesInFlight, ShutdownCutter, cut_in_flight
from devserver.http.parser import Request, RequestParser
from devserver.wsgi.environ import Environ, base_environ
from devserver.wsgi.gateway import ResponseWriter, StartResponse, WSGIGateway
from devserver.wsgi.input import RequestBody


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.levels: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.levels.append(record.levelno)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            assert time.monotonic() < deadline, self.lines
            threading.Event().wait(0.01)  # the line comes from the cutter's thread


@pytest.fixture
def records() -> Iterator[Records]:
    logger = logging.getLogger("django.server")
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    with server, client:
        yield server, client


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise AssertionError("not run here")


class NoTransport:
    def send(self, data: bytes, *, more: bool = False) -> None:
        raise AssertionError("nothing is sent here")

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        raise AssertionError("nothing is sent here")


def writer(target: str = "/events/", *, returned: bool, status: int | None = None, sent: int = 0) -> ResponseWriter:
    """A response as far as it got: the view returned or not, a head sent or not."""
    parser = RequestParser()
    parser.feed(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    request = parser.next_event()
    assert isinstance(request, Request)
    gateway = WSGIGateway(application, base_environ(server_name="127.0.0.1", server_port=8000, multithread=True))
    response = gateway.writer(request, RequestBody(), NoTransport(), keep_alive=True)
    response.returned = returned  # with no Content-Length: open-ended once returned
    if status is not None:
        response.head_sent, response.status, response.body_bytes = True, status, sent
    return response


def test_only_open_ended_responses_are_cut_early_and_each_is_logged_once(
    records: Records, pair: tuple[socket.socket, socket.socket]
) -> None:
    server, client = pair
    responses = ResponsesInFlight()
    stream = writer(returned=True, status=200, sent=26)
    responses.by_writer[stream] = server
    with socket.socket() as unused:
        slow = writer("/slow/", returned=False)
        responses.by_writer[slow] = unused
        assert responses.cut(open_ended_only=True) == {server}
    assert client.recv(1) == b""  # the peer sees the end at once
    assert list(responses.by_writer) == [slow]
    assert responses.cut(open_ended_only=True) == set()  # nothing twice
    assert len(records.lines) == 1
    assert records.lines[0].startswith('"GET /events/ HTTP/1.1" 200 (cut) 26 ')
    assert records.levels == [logging.INFO]


def test_at_the_deadline_a_view_still_running_is_cut_with_no_status(
    records: Records, pair: tuple[socket.socket, socket.socket]
) -> None:
    server, _ = pair
    responses = ResponsesInFlight()
    responses.by_writer[writer("/slow/", returned=False)] = server
    assert responses.cut() == {server}
    assert records.lines[0].startswith('"GET /slow/ HTTP/1.1" - (cut) 0 ')
    assert records.levels == [logging.WARNING]
    assert len(responses) == 0


def test_a_response_its_thread_finished_first_is_not_cut(
    records: Records, pair: tuple[socket.socket, socket.socket]
) -> None:
    server, client = pair
    responses = ResponsesInFlight()
    done = writer(returned=True, status=200)
    responses.by_writer[done] = server
    assert responses.by_writer.pop(done, None) is not None  # what exchange() does: it logs it itself
    assert responses.cut() == set()
    assert records.lines == []
    client.setblocking(False)
    with pytest.raises(BlockingIOError):
        client.recv(1)  # still open


def test_the_cutter_cuts_open_ended_responses_at_once_and_the_rest_at_its_deadline(
    records: Records, pair: tuple[socket.socket, socket.socket]
) -> None:
    server, client = pair
    responses = ResponsesInFlight()
    responses.by_writer[writer(returned=True, status=200)] = server
    cutter = ShutdownCutter(responses, timeout=60)
    cutter.start()
    client.settimeout(10)
    assert client.recv(1) == b""
    cutter.stop()
    with socket.socket() as other:
        responses.by_writer[writer("/slow/", returned=False)] = other
        ShutdownCutter(responses, timeout=0).start()
        records.wait_for(2)
    assert [line.split(" (cut)")[0] for line in records.lines] == [
        '"GET /events/ HTTP/1.1" 200',
        '"GET /slow/ HTTP/1.1" -',
    ]


def test_a_forced_exit_cuts_what_a_backend_is_writing(
    records: Records, pair: tuple[socket.socket, socket.socket]
) -> None:
    class Backend:
        responses = ResponsesInFlight()

    server, _ = pair
    Backend.responses.by_writer[writer("/slow/", returned=False)] = server
    cut_in_flight(Backend())
    cut_in_flight(object())  # a backend without the table: nothing to do
    assert len(records.lines) == 1
