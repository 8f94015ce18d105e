"""A served TLS connection that the plain-socket code paths can hold like a non-blocking socket.

:class:`ServerTLSSocket` is what :func:`~devserver.tls.context.server_context`'s
``wrap_socket`` returns. It differs from :class:`ssl.SSLSocket` where the backends need it to:

- ``recv`` takes (and ignores) the flags a plain path passes (``MSG_DONTWAIT``: the socket never
  blocks anyway), says "nothing whole yet" with :class:`BlockingIOError` as a plain socket does,
  and returns everything OpenSSL has decrypted, so a wait on the descriptor never misses
  bytes already read off it;
- ``shutdown`` acts on the descriptor and keeps the TLS state: a shutdown cuts a response from
  another thread while the writing thread may be inside ``send`` (``SSLSocket.shutdown`` drops
  the TLS object under it). Half-closing (``SHUT_WR``, after an error response) sends TLS's
  ``close_notify`` first, and from then on ``recv`` drains the raw bytes (what the client still
  sends is only read to be dropped, and OpenSSL, having said goodbye, would drop it and report
  the end of the stream at once); a cut (``SHUT_RDWR``) sends no ``close_notify``, so the client
  can tell it was cut;
- ``close`` sends ``close_notify`` first (without waiting): a client reading a response to the end
  of the stream (HTTP/1.0 without a length) can then tell the end from a cut.

Blocking mode is never used on these sockets: CPython retries a TLS read or write that
``SO_RCVTIMEO``/``SO_SNDTIMEO`` interrupted, so a kernel timeout would not bound anything. They
are non-blocking, with the waits and deadlines of the code that uses them (or Python's timeout
mode where a thread of its own may wait).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class ServerTLSSocket(ssl.SSLSocket):
    """A server's TLS connection with a plain socket's manners (see the module's docstring)."""

    _goodbye_said = False
    #: Half-closed: reads only drain what the client still sends.
    _draining = False

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if self._draining:
            return socket.socket.recv(self, buflen, flags)
        try:
            data = super().recv(buflen)
            while (pending := self.pending()) > 0:  # only when a record outgrew ``buflen``
                data += super().recv(pending)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise BlockingIOError(errno.EAGAIN, "no whole TLS record has arrived yet") from None
        return data

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        return super().send(data)

    def shutdown(self, how: int) -> None:
        if how == socket.SHUT_WR:
            self.say_goodbye()
            self._draining = True
        socket.socket.shutdown(self, how)

    def close(self) -> None:
        self.say_goodbye()
        super().close()

    def say_goodbye(self) -> None:
        """Send ``close_notify`` once, if the socket can take it now; never wait for the client's."""
        if self._goodbye_said or self.fileno() < 0:
            return
        self._goodbye_said = True
        timeout = self.gettimeout()
        with contextlib.suppress(OSError, ValueError):  # the client's close_notify is not there, or it is gone
            self.settimeout(0.0)
            self.unwrap()  # sends ours, then finds the client's missing: SSLWantReadError
        with contextlib.suppress(OSError):
            self.settimeout(timeout)
