"""Connections carried over the reloader's control socket, descriptor and all.

The control socket is a Unix socket pair (see :mod:`.handoff`), so a client connection's
descriptor can travel on it (``SCM_RIGHTS``): the kernel keeps the TCP connection open while
it is in transit, and the receiver gets a descriptor of its own for the very same connection.
Each one goes with one line, sent in the same ``sendmsg``::

    {"event": "connection", "client": ["127.0.0.1", 51234], "received": "<base64>"}

``received`` is what the sender had already read of the client's next request head. Up
(child → supervisor), a restarting child gives its idle connections away; down (supervisor →
next child), the child adopts them. Last, the supervisor tells a restarting child
``released``: it sends nothing more there, so the child may exit without losing a connection
still in its socket buffer.
"""

from __future__ import annotations

import array
import base64
import binascii
import collections
import contextlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

from ..backends.adoption import HandedConnection
from ..backends.waiting import wait_writable
from .handoff import decode_message, encode_message

CONNECTION: Final = "connection"
RELEASED: Final = "released"
#: A connection message carries one descriptor; a read gets at most one message's worth from
#: Linux, and room for more only so that a misbehaving sender's extras are received and closed.
_MAX_FDS_PER_READ: Final = 16
_READ_SIZE: Final = 64 * 1024
_CLOEXEC: Final = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
#: How long one message may wait for room in the peer's socket buffer (the peer reads promptly
#: unless it hangs).
SEND_TIMEOUT: Final = 5.0

Message = dict[str, Any]


class ControlWriter:
    """Whole messages on one control socket, from any thread, a descriptor riding on one if asked.

    A message that could not be sent whole leaves the stream in the middle of a line, so the
    writer then refuses everything (its peer stopped reading, and would misread what follows).
    """

    def __init__(self, sock: socket.socket, *, timeout: float = SEND_TIMEOUT) -> None:
        self._sock = sock
        self._timeout = timeout
        self._lock = threading.Lock()
        self._broken = False

    def send(self, message: bytes, fds: Sequence[int] = ()) -> None:
        """Raises OSError (``TimeoutError`` if the peer does not read); the descriptors are then
        still the caller's."""
        with self._lock:
            if self._broken:
                raise BrokenPipeError("an earlier message was cut short")
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            rest = memoryview(message)
            deadline = time.monotonic() + self._timeout
            while rest:
                try:
                    sent = self._sock.sendmsg([rest], ancillary, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    if wait_writable(self._sock, deadline - time.monotonic()):
                        continue
                    self._broken = len(rest) < len(message)
                    raise TimeoutError("the peer does not read its control socket") from None
                except OSError:
                    self._broken = len(rest) < len(message)
                    raise
                ancillary = []  # the descriptors went with the first byte
                rest = rest[sent:]


class ControlHandover:
    """Gives connections to the other end of a control socket (a :class:`ConnectionHandover`)."""

    def __init__(self, writer: ControlWriter) -> None:
        self._writer = writer

    def give(self, connection: HandedConnection) -> bool:
        sock = connection.sock
        if type(sock) is not socket.socket:
            return False  # a wrapper (TLS) keeps state in this process that cannot travel
        try:
            self._writer.send(connection_message(connection), [sock.fileno()])
        except OSError:
            return False
        sock.close()  # the receiver has a descriptor of its own
        return True


def connection_message(connection: HandedConnection) -> bytes:
    received = base64.b64encode(connection.received).decode("ascii")
    return encode_message(CONNECTION, client=list(connection.client), received=received)


def released_message() -> bytes:
    return encode_message(RELEASED)


class ControlReader:
    """Messages from one control socket, each connection message with its connection."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._pending = b""
        self._fds: collections.deque[int] = collections.deque()

    def read(self) -> list[tuple[Message, HandedConnection | None]] | None:
        """The messages that the next read completes (blocking); None at end of stream."""
        data, ancillary, _flags, _address = self._sock.recvmsg(
            _READ_SIZE, socket.CMSG_SPACE(_MAX_FDS_PER_READ * 4), _CLOEXEC
        )
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                self._fds.extend(fds)
        if not data:
            return None
        complete, _, self._pending = (self._pending + data).rpartition(b"\n")
        messages = []
        for line in complete.split(b"\n") if complete else ():
            message = decode_message(line)
            if message is None:
                continue
            connection = self._connection(message) if message["event"] == CONNECTION else None
            if message["event"] != CONNECTION or connection is not None:
                messages.append((message, connection))
        return messages

    def close(self) -> None:
        """Close descriptors that arrived without their message (the sender died mid-way)."""
        while self._fds:
            with contextlib.suppress(OSError):
                os.close(self._fds.popleft())

    def _connection(self, message: Message) -> HandedConnection | None:
        if not self._fds:
            return None
        fd = self._fds.popleft()
        try:
            host, port = message["client"]
            received = base64.b64decode(message.get("received", ""), validate=True)
            client = (str(host), int(port))
        except (KeyError, TypeError, ValueError, binascii.Error):
            os.close(fd)
            return None
        try:
            sock = socket.socket(fileno=fd)
        except OSError:  # not a socket after all
            os.close(fd)
            return None
        return HandedConnection(sock, client, received)
