"""Channels consumers: an echo, a broadcast on the in-memory channel layer, and a refusal.

The echo answers text with ``ECHO_PREFIX`` in front (a test edits it to see a reload) and bytes
as they came; ``close <code>`` makes it close the socket with that code.
"""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

ECHO_PREFIX = ""
#: Offered by a client in ``Sec-WebSocket-Protocol``, the echo accepts this one.
ECHO_SUBPROTOCOL = "echo.v1"
BROADCAST_GROUP = "broadcast"


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        offered = self.scope.get("subprotocols", [])
        await self.accept(subprotocol=ECHO_SUBPROTOCOL if ECHO_SUBPROTOCOL in offered else None)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and text_data.startswith("close "):
            await self.close(code=int(text_data.split()[1]))
        elif text_data is not None:
            await self.send(text_data=ECHO_PREFIX + text_data)
        else:
            await self.send(bytes_data=bytes_data)


class BroadcastConsumer(AsyncJsonWebsocketConsumer):
    """Every message a client sends goes to every client connected here."""

    async def connect(self) -> None:
        await self.channel_layer.group_add(BROADCAST_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(BROADCAST_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.channel_layer.group_send(BROADCAST_GROUP, {"type": "broadcast.message", "content": content})

    async def broadcast_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["content"]))


class RejectConsumer(AsyncWebsocketConsumer):
    """Refuses every connection before accepting it: the client gets 403."""

    async def connect(self) -> None:
        await self.close()
