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

_MSG_MORE: Final = getattr(socket, "MSG_MORE", 0)
#: After an error response, what the client still sends is read and dropped for this long.
LINGER_SECONDS: Final = 1.0
_LINGER_LIMIT: Final = 1024 * 1024


class SocketTransport:
    """``sendall`` and ``sendfile``; any socket error means the client is gone."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: bytes, *, more: bool = False) -> None:
        try:
            self._sock.sendall(data, _MSG_MORE if more else 0)
        except OSError as error:
            raise ClientDisconnected(str(error)) from error

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
        no deadline at all; here EAGAIN means the client stopped reading: it is dropped.
        """
        descriptor, out = file.fileno(), self._sock.fileno()
        sent = 0
        while sent < count:
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
