"""The ASGI callables' shapes, as the spec gives them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The ASGI versions this server speaks, as every scope announces them.
ASGI_VERSION = "3.0"
HTTP_SPEC_VERSION = "2.4"
WEBSOCKET_SPEC_VERSION = "2.4"
