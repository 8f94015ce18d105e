"""What the ASGI benchmark serves with every server: the async test project (Django for HTTP,
Channels for websockets), plus ``/raw/`` and ``/raw-ws/``, a hello and an echo without Django or
Channels, which show each server's own cost (Django's ASGI handler dominates every other figure).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
os.environ.setdefault("TESTPROJECT_ASGI", "1")

from testproject.asgi import application as project

HELLO_HEAD = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
HELLO_BODY = {"type": "http.response.body", "body": b"Hello, world!"}


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope.get("path")
    if path == "/raw/" and scope["type"] == "http":
        await send(HELLO_HEAD)
        await send(HELLO_BODY)
    elif path == "/raw-ws/" and scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")})
    else:
        await project(scope, receive, send)  # type: ignore[arg-type]  # Channels' scope TypedDicts
