"""While no child serves (it crashed), answer on the held socket with what it printed.

A browser reloading after a typo gets a 500 page with the traceback instead of "connection
refused". The server is deliberately tiny: read the request head, answer, close; it speaks
just enough HTTP for that and stops accepting before the next child starts. With HTTPS it
speaks TLS too (a thread per connection, so a handshake may wait): the page for a handshake,
the "use https" 400 for plain HTTP, as the backends answer.
"""

from __future__ import annotations

import collections
import contextlib
import html
import selectors
import socket
import ssl
import threading
import time
from typing import Final

from ..backends.adoption import HandedConnection
from ..backends.transport import close_after_error
from ..http.response import error_response

#: How long a client may take to send its request head, and how much of it is read.
READ_TIMEOUT: Final = 5.0
MAX_HEAD: Final = 64 * 1024
#: After answering, what the client still sends is read and dropped this long, so closing
#: with unread input does not reset the connection before the client reads the page.
LINGER: Final = 1.0
_TRACEBACK: Final = "Traceback (most recent call last):"
_SHOWN_LINES: Final = 80


def crash_details(output: str) -> str:
    """The part of a crashed child's stderr worth showing: its last traceback, if any."""
    start = output.rfind(_TRACEBACK)
    if start != -1:
        return output[start:].strip()
    return "\n".join(output.strip().splitlines()[-_SHOWN_LINES:])


def render_page(summary: str, details: str) -> bytes:
    """A plain HTML page (no scripts, no assets): what happened, then the output."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"><title>Server error: the development server crashed</title>'
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>"
        "</head><body>\n"
        "<h1>The development server could not start</h1>\n"
        f"<p>{html.escape(summary)}</p>\n"
        "<p>Fix the error and save the file: devserver restarts on the next change.</p>\n"
        f"<pre>{html.escape(details or '(the server printed nothing)')}</pre>\n"
        "</body></html>\n"
    ).encode()


def response_head(body_length: int) -> bytes:
    return (
        "HTTP/1.1 500 Internal Server Error\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {body_length}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode("ascii")


class ErrorPageServer:
    """Answers every request on ``listener`` with ``page`` (status 500) until :meth:`stop`, and
    on the connections a restarting child handed over (:meth:`hold`) once they send one."""

    def __init__(self, listener: socket.socket, page: bytes, *, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: the server's context when it serves HTTPS (new connections are TLS then)."""
        self.listener = listener
        self.page = page
        self.tls = tls
        self._head = response_head(len(page))
        #: Written to stop the loop, or to have it watch newly held connections.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = False
        self._arriving: collections.deque[HandedConnection] = collections.deque()
        #: Held connections that have sent nothing yet (only the loop's thread touches it).
        self._silent: dict[socket.socket, HandedConnection] = {}
        self._accepting: threading.Thread | None = None
        self._answering: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        self._accepting = threading.Thread(target=self._accept_loop, name="devserver-error-page", daemon=True)
        self._accepting.start()

    def hold(self, connection: HandedConnection) -> None:
        """Answer a handed-over connection's next request (at once if it has begun)."""
        if connection.received:
            self._spawn_answer(connection.sock, connection.received)
            return
        self._arriving.append(connection)
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"h")

    def stop(self) -> list[HandedConnection]:
        """Stop accepting: connections then wait in the backlog for the next child. Answers
        in progress finish on their own threads (bounded by :data:`READ_TIMEOUT`). Held
        connections that have sent nothing are returned, for the next child."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        if self._accepting is not None:
            self._accepting.join()
        self._wake_reader.close()
        self._wake_writer.close()
        silent = [*self._silent.values(), *self._arriving]
        self._silent.clear()
        self._arriving.clear()
        return silent

    def wait_idle(self, timeout: float) -> bool:
        """Whether every answer in progress finished within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            answering = list(self._answering)
        for thread in answering:
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in answering)

    def _accept_loop(self) -> None:
        self.listener.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                self._watch_arrivals(selector)
                for key, _ in selector.select():
                    if key.fileobj is self._wake_reader:
                        with contextlib.suppress(OSError):
                            self._wake_reader.recv(4096)
                    elif key.fileobj is self.listener:
                        self._accept_pending()
                    elif isinstance(key.fileobj, socket.socket):  # a held connection speaks (or closed)
                        selector.unregister(key.fileobj)
                        connection = self._silent.pop(key.fileobj)
                        self._spawn_answer(connection.sock, connection.received)
                if self._stopping:
                    for sock in self._silent:
                        selector.unregister(sock)
                    return

    def _watch_arrivals(self, selector: selectors.BaseSelector) -> None:
        while self._arriving:
            connection = self._arriving.popleft()
            self._silent[connection.sock] = connection
            selector.register(connection.sock, selectors.EVENT_READ)

    def _accept_pending(self) -> None:
        while True:
            try:
                sock, _address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. EMFILE; the next readiness tries again
                return
            self._spawn_answer(sock)

    def _spawn_answer(self, sock: socket.socket, received: bytes = b"") -> None:
        thread = threading.Thread(
            target=self._answer, args=(sock, received), name="devserver-error-answer", daemon=True
        )
        with self._lock:
            self._answering.add(thread)
        thread.start()

    def _answer(self, sock: socket.socket, received: bytes) -> None:
        try:
            sock.settimeout(READ_TIMEOUT)
            if self.tls is not None and not received:
                self._answer_on_https_port(sock, self.tls)
            else:
                self._answer_page(sock, received)
        except OSError:
            pass  # the client went away; nothing to tell it
        finally:
            sock.close()
            with self._lock:
                self._answering.discard(threading.current_thread())

    def _answer_page(self, sock: socket.socket, received: bytes = b"") -> None:
        head = self._read_head(sock, received)
        if head is not None:
            body = b"" if head.startswith(b"HEAD ") else self.page
            sock.sendall(self._head + body)
            close_after_error(sock)  # the page must survive what the client still sends

    def _answer_on_https_port(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        """The page after a TLS handshake (within READ_TIMEOUT); plain HTTP gets the "use https" 400."""
        from ..tls.handshake import complete, wrap
        from ..tls.plain import is_tls_record, refusal_for_head

        deadline = time.monotonic() + READ_TIMEOUT
        first = sock.recv(1, socket.MSG_PEEK)
        if not first:
            return
        if not is_tls_record(first):
            head = self._read_head(sock)
            if head is not None:
                refusal = refusal_for_head(head, self.listener.getsockname()[:2])
                sock.sendall(error_response(refusal.status, refusal.detail))
                close_after_error(sock)
            return
        with wrap(context, sock) as tls:
            if complete(tls, deadline):
                tls.settimeout(READ_TIMEOUT)
                self._answer_page(tls)

    @staticmethod
    def _read_head(sock: socket.socket, received: bytes = b"") -> bytes | None:
        while b"\r\n\r\n" not in received and len(received) < MAX_HEAD:
            chunk = sock.recv(8192)
            if not chunk:
                return received or None
            received += chunk
        return received
