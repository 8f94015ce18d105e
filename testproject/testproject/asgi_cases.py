"""Small ASGI applications that stretch or break the ASGI spec, one per path, for the gateway tests.

Served with ``TESTPROJECT_ASGI=1 TESTPROJECT_ASGI_APPLICATION=testproject.asgi_cases.application``.
Django's handler always plays by the rules; these do not, on purpose. Whatever a test must observe
on the server side is printed as an ``asgi_cases:`` line to stderr, which the test harness collects
with the server's log.

Lifespan: with ``ASGI_CASES_LIFESPAN=fail`` startup fails (with a message), with ``unsupported``
the application raises as Django does; otherwise startup puts ``{"started": "yes"}`` in the state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Case = Callable[[Scope, Receive, Send], Awaitable[None]]
TEXT = (b"content-type", b"text/plain")


def report(line: str) -> None:
    print(f"asgi_cases: {line}", file=sys.stderr, flush=True)


async def plain(send: Send, body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [TEXT]})
    await send({"type": "http.response.body", "body": body})


def query(scope: Scope) -> dict[str, str]:
    pairs = scope["query_string"].decode().split("&")
    return dict(pair.partition("=")[::2] for pair in pairs if pair)


# -- the scope and the request body ----------------------------------------------------------


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.decode("latin-1")}
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


async def scope_dump(scope: Scope, receive: Receive, send: Send) -> None:
    """The scope as JSON (bytes as ``{"bytes": latin-1 text}``, tuples as lists), with the types of
    ``client`` and ``server``."""
    result = jsonable(scope)
    result["types"] = {"client": type(scope["client"]).__name__, "server": type(scope["server"]).__name__}
    await plain(send, json.dumps(result).encode())


async def body_pieces(scope: Scope, receive: Receive, send: Send) -> None:
    """Receive the body message by message; answer each message's size, and the whole's digest."""
    sizes: list[int] = []
    digest = hashlib.sha256()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            report(f"body pieces: got {message['type']}")
            return
        sizes.append(len(message["body"]))
        digest.update(message["body"])
        if not message.get("more_body", False):
            break
    await plain(send, json.dumps({"sizes": sizes, "sha256": digest.hexdigest()}).encode())


async def body_later(scope: Scope, receive: Receive, send: Send) -> None:
    """Wait ``?seconds=`` before reading the body (announced on stderr): the client must be held back."""
    report("body later: waiting before reading")
    await asyncio.sleep(float(query(scope).get("seconds", "2")))
    report("body later: reading now")
    await body_pieces(scope, receive, send)


async def body_pause(scope: Scope, receive: Receive, send: Send) -> None:
    """Take the first piece of the body, work ``?seconds=`` without reading, then read the rest."""
    report("body pause: waiting for the body")
    first = await receive()
    report(f"body pause: got {len(first['body'])} bytes, working")
    await asyncio.sleep(float(query(scope).get("seconds", "2")))
    total, more = len(first["body"]), first.get("more_body", False)
    while more:
        message = await receive()
        total += len(message.get("body", b""))
        more = message.get("more_body", False)
    await plain(send, str(total).encode())


async def response_pieces(scope: Scope, receive: Receive, send: Send) -> None:
    """``?pieces=N`` body messages with ``more_body``, ``?delay=`` seconds apart."""
    params = query(scope)
    pieces, delay = int(params.get("pieces", "3")), float(params.get("delay", "0"))
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})
    for index in range(pieces):
        if index and delay:
            await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": b"piece %d\n" % index, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def until_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """An endless event stream that stops when ``receive`` says the client has gone."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    disconnect = asyncio.ensure_future(_wait_for_disconnect(receive))
    tick = 0
    while not disconnect.done():
        await send({"type": "http.response.body", "body": b"data: tick %d\n\n" % tick, "more_body": True})
        tick += 1
        await asyncio.wait([disconnect], timeout=0.1)
    report(f"until disconnect: {disconnect.result()} after {tick} ticks")


async def _wait_for_disconnect(receive: Receive) -> str:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return "http.disconnect"


# -- applications that break the rules ---------------------------------------------------------


async def no_response(scope: Scope, receive: Receive, send: Send) -> None:
    return None


async def start_twice(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})


async def body_after_end(scope: Scope, receive: Receive, send: Send) -> None:
    await plain(send, b"complete")
    try:
        await send({"type": "http.response.body", "body": b"too late"})
    except Exception as error:
        report(f"body after end: {type(error).__name__}: {error}")
        raise


def bad_start(status: Any, headers: Any) -> Case:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"must not be sent"})

    return app


async def str_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})
    await send({"type": "http.response.body", "body": "text, not bytes"})


async def unknown_message(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.begin", "status": 200})


async def raise_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("asgi_cases: raised before the response started")


async def raise_mid_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})
    await send({"type": "http.response.body", "body": b"first piece\n", "more_body": True})
    raise RuntimeError("asgi_cases: raised in the middle of the body")


async def return_mid_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [TEXT]})
    await send({"type": "http.response.body", "body": b"first piece\n", "more_body": True})


def declared_length(declared: int, pieces: list[bytes]) -> Case:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [TEXT, (b"content-length", str(declared).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


# -- websockets --------------------------------------------------------------------------------


async def ws_scope(scope: Scope, receive: Receive, send: Send) -> None:
    assert (await receive())["type"] == "websocket.connect"
    offered = scope["subprotocols"]
    accept = {"type": "websocket.accept", "headers": [(b"x-case", b"accepted")]}
    await send({**accept, "subprotocol": offered[-1]} if offered else accept)
    await send({"type": "websocket.send", "text": json.dumps(jsonable(scope))})
    message = await receive()
    report(f"ws scope: then {message['type']} {message.get('code')}")


async def ws_raise_before_accept(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("asgi_cases: raised before accepting the websocket")


async def ws_raise_after_accept(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await receive()  # the first message
    raise RuntimeError("asgi_cases: raised on an open websocket")


async def ws_return_after_accept(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})


async def ws_until_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, then report the disconnect's code (what a server stop or reload sends)."""
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            report(f"ws disconnect: code {message['code']}")
            return
        await send({"type": "websocket.send", "text": message.get("text") or ""})


# -- lifespan ----------------------------------------------------------------------------------


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    mode = os.environ.get("ASGI_CASES_LIFESPAN", "ok")
    if mode == "unsupported":
        raise ValueError("asgi_cases: lifespan is not supported here")
    message = await receive()
    assert message["type"] == "lifespan.startup"
    if mode == "fail":
        await send({"type": "lifespan.startup.failed", "message": "the database is unreachable"})
        return
    scope["state"]["started"] = "yes"
    report("lifespan startup")
    await send({"type": "lifespan.startup.complete"})
    message = await receive()
    assert message["type"] == "lifespan.shutdown"
    report("lifespan shutdown")
    await send({"type": "lifespan.shutdown.complete"})


# -- dispatch ----------------------------------------------------------------------------------

HTTP_ROUTES: dict[str, Case] = {
    "/scope": scope_dump,
    "/body/pieces": body_pieces,
    "/body/later": body_later,
    "/body/pause": body_pause,
    "/response/pieces": response_pieces,
    "/until-disconnect": until_disconnect,
    "/bad/no-response": no_response,
    "/bad/start-twice": start_twice,
    "/bad/body-after-end": body_after_end,
    "/bad/status-str": bad_start("200", [TEXT]),
    "/bad/header-str": bad_start(200, [("content-type", "text/plain")]),
    "/bad/header-crlf": bad_start(200, [(b"x-bad", b"a\r\nx-injected: yes")]),
    "/bad/body-str": str_body,
    "/bad/unknown-message": unknown_message,
    "/bad/raise-before-start": raise_before_start,
    "/bad/raise-mid-body": raise_mid_body,
    "/bad/return-mid-body": return_mid_body,
    "/length/too-much": declared_length(5, [b"01234", b"56789"]),
    "/length/too-little": declared_length(10, [b"01234"]),
}
WEBSOCKET_ROUTES: dict[str, Case] = {
    "/ws/scope": ws_scope,
    "/ws/raise-before-accept": ws_raise_before_accept,
    "/ws/raise-after-accept": ws_raise_after_accept,
    "/ws/return-after-accept": ws_return_after_accept,
    "/ws/until-disconnect": ws_until_disconnect,
}


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    routes = HTTP_ROUTES if scope["type"] == "http" else WEBSOCKET_ROUTES
    case = routes.get(scope["path"])
    if case is None:
        if scope["type"] == "http":
            await plain(send, f"no case at {scope['path']}".encode(), 404)
        else:
            await send({"type": "websocket.close"})
        return
    await case(scope, receive, send)
