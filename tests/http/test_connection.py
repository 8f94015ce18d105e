"""One connection's state without I/O: events, deferred errors, 100 Continue, reuse."""

from __future__ import annotations

import pytest

from devserver.http.connection import CLOSED, CONTINUE_RESPONSE, NEED_DATA, HTTPConnection
from devserver.http.errors import HTTPVersionNotSupported, NotImplementedByServer
from devserver.http.parser import MESSAGE_END, BodyChunk, Request

GET = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
EXPECT = b"POST /up HTTP/1.1\r\nHost: example.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"


def request_line(connection: HTTPConnection) -> str:
    event = connection.next_event()
    assert isinstance(event, Request), event
    return event.request_line


def test_nothing_received_means_need_data() -> None:
    connection = HTTPConnection()
    assert connection.next_event() is NEED_DATA
    connection.receive(GET[:10])
    assert connection.next_event() is NEED_DATA


def test_end_of_stream_means_closed_once_the_events_are_taken() -> None:
    connection = HTTPConnection()
    connection.receive(GET)
    connection.receive(b"")
    assert request_line(connection) == "GET / HTTP/1.1"
    assert connection.next_event() is CLOSED
    assert connection.next_event() is CLOSED


def test_end_of_stream_mid_body_is_closed_after_the_received_part() -> None:
    connection = HTTPConnection()
    connection.receive(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    connection.receive(b"")
    assert request_line(connection) == "POST / HTTP/1.1"
    assert connection.next_event() == BodyChunk(b"abc")
    assert connection.next_event() is CLOSED
    assert not connection.body_complete


def test_current_request_is_remembered() -> None:
    connection = HTTPConnection()
    connection.receive(GET)
    event = connection.next_event()
    assert connection.request is event


def test_error_is_deferred_until_the_good_pipelined_requests_are_taken() -> None:
    connection = HTTPConnection()
    connection.receive(GET + b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" + b"GET / HTTP/2.0\r\n\r\n")
    assert request_line(connection) == "GET / HTTP/1.1"
    assert request_line(connection) == "POST / HTTP/1.1"
    assert connection.next_event() == BodyChunk(b"hi")
    assert connection.next_event() is MESSAGE_END
    with pytest.raises(HTTPVersionNotSupported):
        connection.next_event()
    with pytest.raises(HTTPVersionNotSupported):  # it stays refused
        connection.next_event()


def test_bytes_after_an_error_are_ignored() -> None:
    connection = HTTPConnection()
    connection.receive(b"FOO / HTTP/1.1\r\n\r\n")
    connection.receive(GET)
    with pytest.raises(NotImplementedByServer):
        connection.next_event()


def test_continue_is_owed_once_when_the_client_waits_for_it() -> None:
    connection = HTTPConnection()
    connection.receive(EXPECT)
    assert request_line(connection) == "POST /up HTTP/1.1"
    assert not connection.reusable  # the client may or may not send the body: the stream position is unknown
    assert connection.take_continue() == CONTINUE_RESPONSE == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert connection.take_continue() == b""
    assert connection.reusable


def test_continue_is_not_owed_before_the_request_is_taken() -> None:
    connection = HTTPConnection()
    connection.receive(EXPECT)
    assert connection.take_continue() == b""


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
    ],
    ids=["no_body", "http10", "no_expect"],
)
def test_continue_is_not_owed_without_a_body_to_wait_for(head: bytes) -> None:
    connection = HTTPConnection()
    connection.receive(head)
    connection.next_event()
    assert connection.take_continue() == b""


def test_continue_is_not_owed_once_the_body_arrived_anyway() -> None:
    connection = HTTPConnection()
    connection.receive(EXPECT + b"hello")
    assert request_line(connection) == "POST /up HTTP/1.1"
    assert connection.next_event() == BodyChunk(b"hello")
    assert connection.next_event() is MESSAGE_END
    assert connection.take_continue() == b""
    assert connection.reusable


def test_idle_only_between_requests_with_nothing_of_the_next_received() -> None:
    connection = HTTPConnection()
    states = [connection.idle]
    connection.receive(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    states.append(connection.idle)  # head queued, not taken
    connection.next_event()
    connection.next_event()
    states.append(connection.idle)  # body half received
    connection.receive(b"cd")
    connection.next_event()
    connection.next_event()
    states.append(connection.idle)  # body complete, nothing queued
    connection.receive(b"GE")
    states.append(connection.idle)  # the next head has begun
    assert states == [True, False, False, True, False]


def test_idle_is_false_while_a_pipelined_request_waits() -> None:
    connection = HTTPConnection()
    connection.receive(GET + GET)
    request_line(connection)
    assert not connection.idle
    request_line(connection)
    assert connection.idle


def test_body_complete_follows_the_current_request() -> None:
    connection = HTTPConnection()
    states = [connection.body_complete]
    connection.receive(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    request_line(connection)
    states.append(connection.body_complete)
    assert connection.next_event() == BodyChunk(b"abc")
    assert connection.next_event() is NEED_DATA
    connection.receive(b"0\r\n\r\n")
    assert connection.next_event() is MESSAGE_END
    states.append(connection.body_complete)
    assert states == [True, False, True]


def test_upgrade_makes_the_connection_not_reusable() -> None:
    connection = HTTPConnection()
    connection.receive(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    request_line(connection)
    assert not connection.reusable
