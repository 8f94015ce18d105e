"""The gateway's :class:`~devserver.wsgi.gateway.Transport` over a socket."""

from __future__ import annotations

import socket
from typing import IO, Final

from ..wsgi.gateway import ClientDisconnected

_MSG_MORE: Final = getattr(socket, "MSG_MORE", 0)


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
            return self._sock.sendfile(file, offset, count)
        except OSError as error:
            raise ClientDisconnected(str(error)) from error
