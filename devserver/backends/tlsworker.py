"""The threaded backend's connections on the HTTPS port.

Each connection's first byte decides, once, on its own thread: a TLS handshake (a TLS record),
completed there within HEADER_TIMEOUT of the connection, so a client that stalls holds only its
own thread; or plain HTTP, whose request is answered with a 400 naming the ``https://`` URL.
After the handshake the connection is served as any other, through a non-blocking TLS socket
and :class:`~devserver.tls.transport.TLSTransport`; nothing of this runs for plain HTTP.
"""

from __future__ import annotations

import socket
import ssl
import time

from ..tls.connection import ServerTLSSocket
from ..tls.handshake import complete, log_failed, log_failure, wrap
from ..tls.plain import is_tls_record, plain_http_refusal
from ..tls.transport import TLSTransport
from .base import FIRST_REQUEST_GRACE
from .threaded import ConnectionWorker
from .waiting import ReadableWaiter, wait_readable


class TLSConnectionWorker(ConnectionWorker):
    """A :class:`ConnectionWorker` that starts with the TLS handshake (see the module's docstring)."""

    def _serve(self) -> None:
        started = self._start_tls()
        if started is None:
            return
        if not started:
            self._answer_plain_http()
            return
        super()._serve()

    def _start_tls(self) -> bool | None:
        """True once the handshake is done (``self.sock`` is then the TLS socket); False for plain
        HTTP; None when the connection ends here (silent until the deadline, gone, or failed)."""
        backend = self.backend
        context = backend.tls
        assert context is not None
        deadline = time.monotonic() + backend.config.header_timeout
        if not self._first_byte_arrives(deadline):
            return None
        first = self.sock.recv(1, socket.MSG_PEEK)
        if not first:
            return None
        if not is_tls_record(first):
            return False
        tls = wrap(context, self.sock)
        self.sock = tls  # the plain socket is detached: closing this one closes the connection
        try:
            done = complete(tls, deadline)
        except OSError as error:
            log_failed(self.client, error)
            return None
        if not done:
            log_failure(self.client, "timed out")
            return None
        self._serve_over(tls)
        return True

    def _first_byte_arrives(self, deadline: float) -> bool:
        """Wait for the client's first byte until ``deadline``; on a stop, a connection that has
        sent nothing yet gets FIRST_REQUEST_GRACE (it connected while we were serving)."""
        fd = self.sock.fileno()
        if fd in self._idle_wait.wait(deadline - time.monotonic()):
            return True
        if not self.backend.stopping:
            return False
        return fd in self._data_wait.wait(min(FIRST_REQUEST_GRACE, deadline - time.monotonic()))

    def _serve_over(self, tls: ServerTLSSocket) -> None:
        """Read and write through ``tls`` from now on (it is non-blocking: every wait is ours)."""
        self.transport = TLSTransport(tls, self.backend.config.send_timeout)
        self._idle_wait = ReadableWaiter(tls, self.backend.stop_reader)
        self._data_wait = ReadableWaiter(tls)
        self._read_first = False  # waiting first costs one poll; a failed TLS read costs more
        self._recv = self._recv_record

    def _recv_record(self, size: int) -> bytes:
        """Read once a wait said readable, waiting on (within HEADER_TIMEOUT) while only part of
        a TLS record has arrived: what is there cannot be decrypted yet."""
        deadline: float | None = None
        while True:
            try:
                return self.sock.recv(size)
            except BlockingIOError:
                pass
            if deadline is None:
                deadline = time.monotonic() + self.backend.config.header_timeout
            if not self._data_wait.wait(deadline - time.monotonic()):
                raise TimeoutError("The client did not finish a TLS record in time.")

    def _answer_plain_http(self) -> None:
        """Read the plain-HTTP request as usual, then refuse it with the URL that works."""
        request = self._next_request()
        if request is not None:
            refusal = plain_http_refusal(request, self.backend.listening)
            self._refuse(refusal, self.sock, request.request_line)


def handshake_briefly(context: ssl.SSLContext, sock: socket.socket, seconds: float) -> ServerTLSSocket | None:
    """For a connection refused past MAX_CONNECTIONS: the TLS socket once a handshake is done
    within ``seconds`` (to say 503 in a language the client reads), or None, with the
    connection closed (plain HTTP, silence, failure)."""
    deadline = time.monotonic() + seconds
    try:
        if not wait_readable((sock,), seconds) or not is_tls_record(sock.recv(1, socket.MSG_PEEK)):
            sock.close()
            return None
        tls = wrap(context, sock)
    except OSError:
        sock.close()
        return None
    try:
        if complete(tls, deadline):
            return tls
    except OSError:
        pass
    tls.close()
    return None
