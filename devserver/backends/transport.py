"""The gateway's :class:`~devserver.wsgi.gateway.Transport` over a socket."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
import time
from typing import IO, Final

from ..wsgi.gateway import ClientDisconnected
from .waiting import wait_writable

_MSG_MORE: Final = getattr(socket, "MSG_MORE", 0)
#: ``recv``/``send`` flag that makes one call on a blocking socket return at once (0 where missing:
#: Windows). Blocking sockets with a kernel send timeout need no mode switch or poll per request.
DONT_WAIT: Final = getattr(socket, "MSG_DONTWAIT", 0)
#: After an error response, what the client still sends is read and dropped for this long.
LINGER_SECONDS: Final = 1.0
_LINGER_LIMIT: Final = 1024 * 1024


class SocketTransport:
    """``send`` and ``sendfile``, each given ``send_timeout`` as a whole; any socket error means
    the client is gone.

    The kernel's send timeout (:func:`bound_sends`) bounds one system call, and a client that
    reads a trickle keeps every call making progress: without a deadline for the whole write it
    could hold a connection (or the single backend's only thread) for as long as it liked.
    """

    __slots__ = ("_sock", "_timeout")

    def __init__(self, sock: socket.socket, send_timeout: float) -> None:
        self._sock = sock
        self._timeout = send_timeout

    def send(self, data: bytes, *, more: bool = False) -> None:
        flags = _MSG_MORE if more else 0
        try:
            started = time.monotonic()
            sent = self._sock.send(data, flags)  # nearly always all of it, in one system call
            if sent < len(data):
                self._send_rest(memoryview(data)[sent:], flags, started + self._timeout)
        except OSError as error:
            raise ClientDisconnected(str(error)) from error

    def _send_rest(self, rest: memoryview, flags: int, deadline: float) -> None:
        while rest:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not wait_writable(self._sock, remaining):
                raise ClientDisconnected("The client reads too slowly (send timeout).")
            try:
                rest = rest[self._sock.send(rest, flags | DONT_WAIT) :]
            except (BlockingIOError, InterruptedError):
                continue

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        try:
            if self._sock.gettimeout() is None and hasattr(os, "sendfile"):
                return self._sendfile_blocking(file, offset, count)
            return self._sock.sendfile(file, offset, count)
        except OSError as error:
            raise ClientDisconnected(str(error)) from error

    def _sendfile_blocking(self, file: IO[bytes], offset: int, count: int) -> int:
        """``os.sendfile`` on a blocking socket whose SO_SNDTIMEO bounds each call.

        ``socket.sendfile`` would answer the timeout's EAGAIN by waiting for writability with
        no deadline at all; here EAGAIN means the client stopped reading: it is dropped. A client
        reading a trickle is dropped once the send timeout has passed between two calls (each
        call can take the timeout too, so the whole is bounded by about twice the timeout).
        """
        descriptor, out = file.fileno(), self._sock.fileno()
        deadline = time.monotonic() + self._timeout
        sent = 0
        while sent < count:
            if sent and time.monotonic() >= deadline:
                raise ClientDisconnected("The client reads too slowly (send timeout).")
            try:
                done = os.sendfile(out, descriptor, offset + sent, count - sent)
            except BlockingIOError:
                raise ClientDisconnected("The client stopped reading (send timeout).") from None
            except OSError as error:
                if error.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK) and sent == 0:
                    return self._sock.sendfile(file, offset, count)  # no os.sendfile for this pair
                raise
            if done == 0:
                break
            sent += done
        file.seek(offset + sent)
        return sent


def close_after_error(sock: socket.socket) -> None:
    """Close so that the error response survives: a close with unread input sends a TCP reset,
    which can destroy the response before the client reads it. Half-close, drain briefly, close.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        drained = 0
        while drained < _LINGER_LIMIT and (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            drained += len(chunk)
    sock.close()


def bound_sends(sock: socket.socket, seconds: float) -> bool:
    """Blocking mode with a kernel send timeout (SO_SNDTIMEO) where available; False if Python's
    own timeout mode had to do instead.

    Python's timeout mode polls before every recv and send; the kernel option bounds a
    stuck write without that extra system call on the hot path.
    """
    option = getattr(socket, "SO_SNDTIMEO", None)
    if option is not None and hasattr(socket, "SO_RCVTIMEO"):
        whole = int(seconds)
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, int((seconds - whole) * 1e6)))
        except OSError:
            pass
        else:
            sock.setblocking(True)
            return True
    sock.settimeout(seconds)
    return False
