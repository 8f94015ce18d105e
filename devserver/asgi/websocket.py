"""WebSocket connections for ASGI applications, on the ``websockets`` package's sans-I/O protocol.

The handshake is checked and answered, frames are parsed and built, pings answered and the
closing handshake run by :class:`websockets.server.ServerProtocol` (never by hand); this module
is the glue between it, the connection that carries the bytes, and the ASGI ``websocket``
messages: the scope, accept or reject (403 before accept), text and binary messages, close
codes, subprotocols, a message size limit (``WEBSOCKET_MAX_MESSAGE_SIZE``) and an idle timeout
(``WEBSOCKET_IDLE_TIMEOUT``: a silent client is pinged, and closed if it stays silent).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from ..accesslog import log_request
from ..http.parser import Request
from ..http.response import SERVER_HEADER, error_response
from ..wsgi.gateway import ClientDisconnected
from .headers import InvalidMessageError
from .types import ASGIApplication, Message, Scope

if TYPE_CHECKING:
    from websockets.frames import Frame
    from websockets.server import ServerProtocol

    from ..conf import ServerConfig

logger = logging.getLogger("django.server")

#: After sending a close frame, how long the client has to answer it before the connection is cut.
CLOSE_TIMEOUT: Final = 5.0
#: Messages received but not yet taken by the application past which reading pauses.
MAX_QUEUED: Final = 16
GOING_AWAY: Final = 1001
SERVICE_RESTART: Final = 1012
INTERNAL_ERROR: Final = 1011

CONNECTING, OPEN, CLOSING, CLOSED = "connecting", "open", "closing", "closed"


class SessionHost(Protocol):
    """What a session needs from the connection that carries it."""

    client: tuple[str, int]
    deadline: float
    write_paused: bool

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    def linger(self) -> None:
        """Half-close, drop what the client still sends, close at its EOF (or soon): a close
        with unread input would reset the connection and could destroy the last frames."""

    def abort(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class SessionServer(Protocol):
    """What a session needs from the server."""

    config: ServerConfig
    application: ASGIApplication

    def websocket_scope(self, request: Request, client: tuple[str, int], subprotocols: list[str]) -> Scope: ...

    def run_task(self, coroutine: Any) -> None: ...


class WebSocketSession:
    """One websocket: ASGI ``receive``/``send`` on one side, the protocol's bytes on the other."""

    def __init__(self, host: SessionHost, server: SessionServer, request: Request, protocol: ServerProtocol) -> None:
        self._host = host
        self._server = server
        self._config = server.config
        self.request = request
        self.protocol = protocol
        self.state = CONNECTING
        self.handshake_headers: list[tuple[bytes, bytes]] = []
        self._events: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []
        self._fragments_text = False
        self._disconnect_sent = False
        self._paused = False
        self._started = time.perf_counter()
        self._last_heard = time.monotonic()

    # -- from the connection -----------------------------------------------------------

    def start(self, scope: Scope) -> None:
        self._events.append({"type": "websocket.connect"})
        self._server.run_task(self.run(self._server.application, scope))

    def receive_data(self, data: bytes) -> None:
        self._last_heard = time.monotonic()
        protocol = self.protocol
        protocol.receive_data(data)
        # In the OPEN state the protocol yields only frames (the handshake was the HTTP layer's).
        for frame in cast("list[Frame]", protocol.events_received()):
            opcode = frame.opcode.value
            if opcode in (1, 2):  # text, binary
                if frame.fin:
                    self._deliver(cast("bytes", frame.data), opcode == 1)
                else:
                    self._fragments = [cast("bytes", frame.data)]
                    self._fragments_text = opcode == 1
            elif opcode == 0:  # continuation
                self._fragments.append(cast("bytes", frame.data))
                if frame.fin:
                    data_whole = b"".join(self._fragments)
                    self._fragments = []
                    self._deliver(data_whole, self._fragments_text)
            elif opcode == 8:  # close: the protocol has queued the answer
                close = protocol.close_rcvd
                self._disconnected(close.code if close is not None else 1005, close.reason if close else "")
        if protocol.parser_exc is not None:  # a protocol error, a message too big: the protocol failed it
            close = protocol.close_sent
            self._disconnected(close.code if close is not None else 1006, close.reason if close else "")
        self._flush()  # a pong, a close: what the protocol answered on its own
        if len(self._events) > MAX_QUEUED and not self._paused:
            self._paused = True
            self._host.pause()

    def receive_eof(self) -> None:
        self.protocol.receive_eof()
        self._disconnected(1006, "")
        self._host.close()

    def connection_lost(self) -> None:
        self._disconnected(1006, "")
        self.state = CLOSED

    def expire(self) -> None:
        """The connection's deadline passed: a close that was not answered, a handshake the
        application never decided on while the server stops, or a silent client."""
        if self.state != OPEN:
            self._host.abort()
        elif self._config.websocket_idle_timeout:
            if time.monotonic() - self._last_heard >= self._config.websocket_idle_timeout:
                self._close(GOING_AWAY, "idle timeout")
            else:
                self._ping_if_quiet()

    def server_stopping(self, *, restart: bool) -> None:
        """Close with 1001 (going away) or, on a reload, 1012 (service restart: reconnect)."""
        if self.state == OPEN:
            self._close(SERVICE_RESTART if restart else GOING_AWAY, "server restart" if restart else "server stopped")
        elif self.state == CONNECTING:
            self._host.deadline = time.monotonic() + CLOSE_TIMEOUT

    def refuse(self, response: bytes, status: int) -> None:
        self.state = CLOSED
        self._host.write(response)
        log_request(self.request.request_line, status, 0, time.perf_counter() - self._started)
        self._host.close()

    # -- the ASGI callables ------------------------------------------------------------

    async def receive(self) -> Message:
        events = self._events
        while not events:
            if self._disconnect_sent:
                return {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        message = events.popleft()
        if self._paused and len(events) <= MAX_QUEUED // 2:
            self._paused = False
            self._host.resume()
        return message

    async def send(self, message: Message) -> None:
        if type(message) is not dict and not isinstance(message, Mapping):
            raise InvalidMessageError(f"An ASGI message must be a dict, not {type(message).__name__}")
        kind = message.get("type")
        state = self.state
        if state == OPEN:
            if kind == "websocket.send":
                self._send_message(message)
                if self._host.write_paused:
                    await self._host.drain()
                return
            if kind == "websocket.close":
                self._close(_close_code(message), str(message.get("reason") or ""))
                return
            raise InvalidMessageError(f"Unexpected ASGI message {kind!r} on an open websocket")
        if state == CONNECTING:
            if kind == "websocket.accept":
                self._accept(message)
                return
            if kind == "websocket.close":
                self._reject()
                return
            raise InvalidMessageError(f"Expected 'websocket.accept' or 'websocket.close', got {kind!r}")
        raise ClientDisconnected("The websocket is closed.")

    async def run(self, application: ASGIApplication, scope: Scope) -> None:
        try:
            await application(scope, self.receive, self.send)
        except asyncio.CancelledError:
            self._after_error()
            raise
        except ClientDisconnected:
            self._after_error()
        except Exception:
            logger.exception("Exception in ASGI application (%s)", self.request.request_line)
            self._after_error()
        else:
            if self.state == CONNECTING:
                logger.error(
                    "The ASGI application returned without accepting the websocket (%s)", self.request.request_line
                )
                self._reject(HTTPStatus.INTERNAL_SERVER_ERROR)
            elif self.state == OPEN:
                self._close(1000, "")

    # -- helpers -----------------------------------------------------------------------

    def _accept(self, message: Mapping[str, Any]) -> None:
        lines = [b"HTTP/1.1 101 Switching Protocols\r\n"]
        lines.extend(b"%s: %s\r\n" % header for header in self.handshake_headers)
        subprotocol = message.get("subprotocol")
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise InvalidMessageError(f"'subprotocol' must be a str, not {type(subprotocol).__name__}")
            lines.append(b"Sec-WebSocket-Protocol: %s\r\n" % subprotocol.encode("latin-1"))
        for header in message.get("headers") or ():
            name, value = header
            if not isinstance(name, bytes) or not isinstance(value, bytes) or b"\r" in value or b"\n" in value:
                raise InvalidMessageError(f"Invalid header {header!r} in 'websocket.accept'")
            if name.lower() != b"sec-websocket-protocol":
                lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(f"Server: {SERVER_HEADER}\r\n\r\n".encode("latin-1"))
        self.state = OPEN
        self._host.write(b"".join(lines))
        log_request(self.request.request_line, 101, 0, time.perf_counter() - self._started)
        self._flush()  # pongs to pings that came before the application accepted
        self._arm_idle_timer()

    def _reject(self, status: HTTPStatus = HTTPStatus.FORBIDDEN) -> None:
        detail = "The application refused the WebSocket connection." if status == 403 else "See the server log."
        self._disconnected(1006, "")
        self.refuse(error_response(status, detail), status.value)

    def _send_message(self, message: Mapping[str, Any]) -> None:
        text = message.get("text")
        protocol = self.protocol
        if text is not None:
            if type(text) is not str:
                raise InvalidMessageError(f"'text' must be a str, not {type(text).__name__}")
            protocol.send_text(text.encode())
        else:
            data = message.get("bytes")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise InvalidMessageError("'websocket.send' needs 'text' (str) or 'bytes' (bytes)")
            protocol.send_binary(data)
        pending = protocol.data_to_send()
        self._host.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def _deliver(self, data: bytes, text: bool) -> None:
        if self.state == CLOSED:
            return
        if text:
            try:
                message: Message = {"type": "websocket.receive", "text": data.decode()}
            except UnicodeDecodeError:
                self.protocol.fail(1007, "invalid UTF-8 in a text message")
                close = self.protocol.close_sent
                self._disconnected(1007, close.reason if close else "")
                return
        else:
            message = {"type": "websocket.receive", "bytes": data}
        self._events.append(message)
        self._wake()

    def _close(self, code: int, reason: str) -> None:
        """Start the closing handshake; the application hears the disconnect with ``code``."""
        if self.state != OPEN:
            return
        self.protocol.send_close(code, reason)
        self.state = CLOSING
        self._disconnected(code, reason)
        self._flush()
        self._host.deadline = time.monotonic() + CLOSE_TIMEOUT

    def _after_error(self) -> None:
        if self.state == CONNECTING:
            self._reject(HTTPStatus.INTERNAL_SERVER_ERROR)
        elif self.state == OPEN:
            self._close(INTERNAL_ERROR, "")

    def _disconnected(self, code: int, reason: str) -> None:
        if not self._disconnect_sent:
            self._disconnect_sent = True
            self._events.append({"type": "websocket.disconnect", "code": code, "reason": reason})
            self._wake()
        if self.state == OPEN:
            self.state = CLOSING

    def _flush(self) -> None:
        """Write what the protocol has to send; its end-of-stream marker means: close the TCP connection."""
        if self.state == CONNECTING:
            return  # nothing goes out before the handshake response
        pending = self.protocol.data_to_send()
        if not pending:
            return
        data = b"".join(pending)
        if data:
            self._host.write(data)
        if pending[-1] == b"":  # SEND_EOF: the server ends the TCP connection
            self.state = CLOSED
            self._host.linger()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _arm_idle_timer(self) -> None:
        timeout = self._config.websocket_idle_timeout
        if timeout:
            self._host.deadline = time.monotonic() + timeout / 2

    def _ping_if_quiet(self) -> None:
        """Half the idle timeout without a word from the client: ping it (a live client answers)."""
        timeout = self._config.websocket_idle_timeout
        quiet = time.monotonic() - self._last_heard
        if quiet >= timeout / 2:
            self.protocol.send_ping(b"devserver")
            self._flush()
        self._host.deadline = self._last_heard + timeout if quiet >= timeout / 2 else self._last_heard + timeout / 2


def _close_code(message: Mapping[str, Any]) -> int:
    code = message.get("code", 1000)
    if type(code) is not int or not (code == 1000 or 3000 <= code <= 4999 or 1001 <= code <= 1014):
        raise InvalidMessageError(f"Invalid websocket close code {code!r}")
    return code
