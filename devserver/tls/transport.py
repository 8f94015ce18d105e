"""The gateway's :class:`~devserver.wsgi.gateway.Transport` over a TLS connection.

The plain :class:`~devserver.backends.transport.SocketTransport` cannot serve here:
``os.sendfile`` would put the file's plaintext on the wire beside the TLS stream, ``MSG_MORE``
is refused by an SSL socket, and a kernel send timeout bounds nothing (CPython retries the
interrupted TLS write). So the socket is non-blocking and this class waits itself, with the
same rule as the plain transport: each write (a whole file, for ``sendfile``) gets
``send_timeout`` in all, so a client reading a trickle cannot hold the connection, or the
single backend's only thread, for longer.
"""

from __future__ import annotations

import ssl
import time
from typing import IO, Final

from ..backends.waiting import wait_readable, wait_writable
from ..wsgi.gateway import ClientDisconnected

#: Bytes of a file read and encrypted per write: four full TLS records.
FILE_CHUNK: Final = 64 * 1024


class TLSTransport:
    """``send`` and ``sendfile`` on a non-blocking TLS socket, each bounded by ``send_timeout`` as a whole.

    ``more=True`` holds the bytes back and sends them with the next write (the head of a file
    response goes out in the same TLS record as the file's first bytes).
    """

    __slots__ = ("_held", "_sock", "_timeout")

    def __init__(self, sock: ssl.SSLSocket, send_timeout: float) -> None:
        self._sock = sock
        self._timeout = send_timeout
        self._held = b""

    def send(self, data: bytes, *, more: bool = False) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        if more:
            self._held = data
            return
        try:
            self._write(memoryview(data), None)
        except ClientDisconnected:
            raise
        except OSError as error:
            raise ClientDisconnected(str(error)) from error

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        """Read and send ``count`` bytes of ``file`` from ``offset`` (there is no zero-copy path
        through TLS here); the number sent, short if the file ended early."""
        deadline = time.monotonic() + self._timeout
        held, self._held = self._held, b""
        sent = 0
        try:
            file.seek(offset)
            while sent < count:
                chunk = file.read(min(FILE_CHUNK, count - sent))
                if not chunk:
                    break
                self._write(memoryview(held + chunk if held else chunk), deadline)
                held = b""
                sent += len(chunk)
            if held:  # the file ended before its first byte: the head still goes
                self._write(memoryview(held), deadline)
        except ClientDisconnected:
            raise
        except OSError as error:
            raise ClientDisconnected(str(error)) from error
        return sent

    def _write(self, data: memoryview, deadline: float | None) -> None:
        """Write all of ``data``, waiting for the socket each time it is full, until ``deadline``
        (counted from the first wait when None). After a full socket OpenSSL wants the very same
        bytes again, so ``data`` advances only by what a write took."""
        sock = self._sock
        while data:
            try:
                data = data[sock.send(data) :]
                continue
            except ssl.SSLWantWriteError:
                readable = False
            except ssl.SSLWantReadError:
                readable = True
            if deadline is None:
                deadline = time.monotonic() + self._timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientDisconnected("The client reads too slowly (send timeout).")
            ready = bool(wait_readable((sock,), remaining)) if readable else wait_writable(sock, remaining)
            if not ready:
                raise ClientDisconnected("The client reads too slowly (send timeout).")
