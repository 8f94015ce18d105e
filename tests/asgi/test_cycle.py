"""One request's ``receive``/``send`` against a fake connection: framing, back-pressure bookkeeping,
disconnects and the rules an application must follow."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devserver.asgi.cycle import HTTPCycle
from devserver.asgi.headers import InvalidMessageError, StartChecker
from devserver.http.parser import Request, RequestParser
from devserver.wsgi.gateway import ClientDisconnected


class FakeHost:
    write_paused = False

    def __init__(self) -> None:
        self.written = b""
        self.wanted = 0
        self.done: list[HTTPCycle] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None

    def want_body(self) -> None:
        self.wanted += 1

    def body_taken(self) -> None:
        pass

    def response_done(self, cycle: HTTPCycle) -> None:
        self.done.append(cycle)

    def abort(self) -> None:
        self.aborted = True


def cycle_for(head: bytes) -> tuple[HTTPCycle, FakeHost]:
    parser = RequestParser()
    parser.feed(head)
    request = parser.next_event()
    assert isinstance(request, Request)
    host = FakeHost()
    return HTTPCycle(request, {}, host, StartChecker(), keep_alive=True), host


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}


def test_a_body_in_one_message_is_framed_by_its_length() -> None:
    cycle, host = cycle_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")

    async def run() -> None:
        await cycle.send(START)
        assert host.written == b""  # the head waits for the body: one write for both
        await cycle.send({"type": "http.response.body", "body": b"hello"})

    asyncio.run(run())
    assert b"Content-Length: 5\r\n" in host.written
    assert host.written.endswith(b"\r\n\r\nhello")
    assert host.done == [cycle]


def test_a_streamed_body_is_chunked() -> None:
    cycle, host = cycle_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")

    async def run() -> None:
        await cycle.send(START)
        await cycle.send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await cycle.send({"type": "http.response.body", "body": b"c"})

    asyncio.run(run())
    assert b"Transfer-Encoding: chunked\r\n" in host.written
    assert host.written.endswith(b"\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n")


def test_head_keeps_the_length_and_sends_no_body() -> None:
    cycle, host = cycle_for(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")

    async def run() -> None:
        await cycle.send(START)
        await cycle.send({"type": "http.response.body", "body": b"hello"})

    asyncio.run(run())
    assert b"Content-Length: 5\r\n" in host.written
    assert host.written.endswith(b"\r\n\r\n")


def test_body_arrives_as_fed_then_disconnect_after_the_response() -> None:
    cycle, host = cycle_for(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n")

    async def run() -> list[Any]:
        messages = []
        waiting = asyncio.ensure_future(cycle.receive())
        await asyncio.sleep(0)
        assert host.wanted == 1  # the connection was asked to read (and to send 100 Continue if owed)
        cycle.feed(b"ab")
        messages.append(await waiting)
        cycle.feed(b"cd")
        cycle.end_body()
        messages.append(await cycle.receive())
        await cycle.send(START)
        await cycle.send({"type": "http.response.body", "body": b""})
        messages.append(await cycle.receive())
        return messages

    assert asyncio.run(run()) == [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
        {"type": "http.disconnect"},
    ]


def test_send_after_a_disconnect_raises_an_oserror() -> None:
    cycle, _ = cycle_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    cycle.disconnect()
    with pytest.raises(ClientDisconnected):
        asyncio.run(cycle.send(START))
    assert issubclass(ClientDisconnected, OSError)  # what ASGI 2.4 asks of a server


@pytest.mark.parametrize(
    "messages",
    [
        [{"type": "http.response.body", "body": b"x"}],
        [START, START],
        [START, {"type": "http.response.body", "body": "str"}],
        [{"type": "http.response.push"}],
        ["not a dict"],
    ],
    ids=["body-before-start", "start-twice", "str-body", "unknown-type", "not-a-dict"],
)
def test_broken_rules_raise_in_the_application(messages: list[Any]) -> None:
    cycle, _ = cycle_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")

    async def run() -> None:
        for message in messages:
            await cycle.send(message)

    with pytest.raises(InvalidMessageError):
        asyncio.run(run())


def test_an_application_that_sends_nothing_gets_a_500_for_its_client() -> None:
    cycle, host = cycle_for(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    asyncio.run(cycle.run(silent))
    assert host.written.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Connection: close" in host.written
