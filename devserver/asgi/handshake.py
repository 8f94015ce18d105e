"""Opening a websocket: the handshake checked by the ``websockets`` package's ``ServerProtocol``,
then a :class:`~devserver.asgi.websocket.WebSocketSession` started for the application (or the
handshake's refusal answered without it).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from ..http.errors import NotImplementedByServer
from ..http.parser import Request
from .websocket import SessionHost, SessionServer, WebSocketSession


class WebSocketUnavailable(NotImplementedByServer):
    """The ``websockets`` package is missing: the upgrade request gets a 501 naming the extra."""


def start_session(host: SessionHost, server: SessionServer, request: Request, early_data: bytes) -> WebSocketSession:
    """Check the handshake and start the application (or answer the refusal); raises WebSocketUnavailable."""
    try:
        from websockets.datastructures import Headers
        from websockets.http11 import Request as HandshakeRequest
        from websockets.protocol import State
        from websockets.server import ServerProtocol
    except ImportError:
        raise WebSocketUnavailable(
            "WebSocket support needs the websockets package: pip install 'django-devrun[asgi]'"
        ) from None
    protocol = ServerProtocol(
        state=State.OPEN,  # the handshake request was parsed by the HTTP layer: frames come next
        max_size=server.config.websocket_max_message_size,
        logger=_QUIET,
    )
    headers = Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers])
    handshake = protocol.accept(HandshakeRequest(request.target.decode("latin-1"), headers))
    session = WebSocketSession(host, server, request, protocol)
    if handshake.status_code != 101:  # not a valid websocket handshake: answered without the application
        session.refuse(handshake.serialize(), handshake.status_code)
        return session
    session.handshake_headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in handshake.headers.raw_items()
        if name.lower() != "date"
    ]
    subprotocols = [
        token.strip()
        for value in headers.get_all("Sec-WebSocket-Protocol")
        for token in value.split(",")
        if token.strip()
    ]
    session.start(server.websocket_scope(request, host.client, subprotocols))
    if early_data:
        session.receive_data(early_data)
    return session


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs every connection at INFO; the access line already says it."""

    def isEnabledFor(self, level: int) -> bool:
        return False

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        return


_QUIET: Final = _QuietLogger(logging.getLogger("websockets.server"), {})
