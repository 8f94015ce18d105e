"""A thread per connection, as runserver does, with a bound and a graceful drain."""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import ClassVar, Final

from ..conf import ServerConfig
from ..http.connection import CLOSED, HTTPConnection
from ..http.errors import HTTPError, RequestTimeout
from ..http.parser import MESSAGE_END, BodyChunk, Request
from ..signals import block_in_this_thread
from ..wsgi.gateway import ClientDisconnected, Transport, WSGIApplication
from ..wsgi.input import BodySpool, RequestBody
from .adoption import HandedConnection
from .base import FIRST_REQUEST_GRACE, OVERLOAD_BACKLOG, RECV_SIZE, BaseBackend
from .inflight import CUT_INTERVAL
from .transport import DONT_WAIT, SocketTransport, bound_sends, close_after_error
from .waiting import ReadableWaiter

logger = logging.getLogger("django.server")

#: A body the application left unread is read and dropped up to this size; past it, close.
MAX_DRAIN: Final = 1024 * 1024
_JOIN_TIMEOUT: Final = 1.0
#: The main thread wakes at least this often: a signal the kernel delivered to a worker thread
#: only runs its Python handler once the main thread runs again.
_SIGNAL_LATENCY: Final = 0.5
#: A client refused past the connection bound gets this long to send its request and take the 503.
_OVERLOAD_SECONDS: Final = 1.0
#: A thread that finished its connection waits this long for another before it exits.
_IDLE_THREAD_SECONDS: Final = 30.0


class ReusableThreads:
    """Runs each job on a thread, reusing threads that finished theirs.

    Starting a thread costs about as much as a whole request, and clients that do not keep
    connections alive open one per request.
    """

    def __init__(self, idle_seconds: float = _IDLE_THREAD_SECONDS) -> None:
        self._idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._waiting = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._waiting:
                self._waiting -= 1
                self._jobs.put(job)
                return
        threading.Thread(target=self._work, args=(job,), name="devserver worker", daemon=True).start()

    def _work(self, job: Callable[[], None]) -> None:
        block_in_this_thread()  # the kernel then delivers Ctrl-C to the main thread
        while True:
            job()
            with self._lock:
                self._waiting += 1
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:  # a job may have been put for this thread just as it gave up
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        self._waiting -= 1
                        return


class ThreadedBackend(BaseBackend):
    """Accepts on one thread and serves each connection on a (reused) daemon thread of its own."""

    name: ClassVar[str] = "threaded"
    multithread: ClassVar[bool] = True
    serves_tls: ClassVar[bool] = True

    def __init__(self, listener: socket.socket, application: WSGIApplication, config: ServerConfig) -> None:
        super().__init__(listener, application, config)
        #: Chosen once: on the HTTPS port each connection starts with its handshake.
        self._worker_class: type[ConnectionWorker] = ConnectionWorker
        if self.tls is not None:
            from .tlsworker import TLSConnectionWorker

            self._worker_class = TLSConnectionWorker
        self._workers: set[ConnectionWorker] = set()
        self._workers_changed = threading.Condition()
        self._threads = ReusableThreads()
        self._refusing = 0

    def serve_forever(self) -> None:
        self.listener.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            selector.register(self.stop_reader, selectors.EVENT_READ)
            while not self.stopping:
                for key, _ in selector.select(_SIGNAL_LATENCY):
                    if key.fileobj is self.listener:
                        self._accept()
        self.listener.close()
        self._drain()
        self.close_stop_signal()

    def _accept(self) -> None:
        for sock, address in self.accept_ready():
            bound_sends(sock, self.config.send_timeout)  # reads wait for readiness first; this bounds writes
            with self._workers_changed:
                job = self._admit(sock, address)
            if job is None:
                sock.close()  # far past the bound: not even a thread to say so
            else:
                self._threads.submit(job)

    def adopt(self, connection: HandedConnection) -> bool:
        """Serve a connection the process before this one handed over (called from the reloader's
        thread). Past MAX_CONNECTIONS it is treated as a new connection would be, except that an
        idle one is closed: it has no request to answer 503 to."""
        sock = connection.sock
        with self._workers_changed:
            if self.stopping:
                return False
            bound_sends(sock, self.config.send_timeout)
            job = self._admit(sock, connection.client, connection.received)
        if job is None:
            sock.close()
        else:
            self._threads.submit(job)
        return True

    def _admit(
        self, sock: socket.socket, client: tuple[str, int], received: bytes | None = None
    ) -> Callable[[], None] | None:
        """The job that serves a new connection (``received``: adopted, with these bytes of its
        next request already read), or None if it must be closed. Called with the lock held."""
        if len(self._workers) < self.config.max_connections:
            worker = self._worker_class(self, sock, client, received)
            self._workers.add(worker)
            return worker.run
        if received == b"" or self._refusing >= OVERLOAD_BACKLOG:
            return None
        self._refusing += 1
        return partial(self._refuse_overload, sock)

    def _refuse_overload(self, sock: socket.socket) -> None:
        """Past the connection bound: read what the client sent, then answer 503 (over TLS on
        the HTTPS port, once a handshake is done within the same second)."""
        try:
            transport: Transport = SocketTransport(sock, _OVERLOAD_SECONDS)
            if self.tls is not None:
                from ..tls.transport import TLSTransport
                from .tlsworker import handshake_briefly

                tls = handshake_briefly(self.tls, sock, _OVERLOAD_SECONDS)
                if tls is None:
                    return
                sock, transport = tls, TLSTransport(tls, _OVERLOAD_SECONDS)
            sock.settimeout(_OVERLOAD_SECONDS)
            with contextlib.suppress(OSError):
                sock.recv(RECV_SIZE)
            self.refuse(transport, self.overload_error(), sock)
            close_after_error(sock)
        finally:
            with self._workers_changed:
                self._refusing -= 1

    def worker_done(self, worker: ConnectionWorker) -> None:
        with self._workers_changed:
            self._workers.discard(worker)
            self._workers_changed.notify_all()

    def _drain(self) -> None:
        """Idle connections see the stop signal and close (on a restart, they go to the next
        process); open-ended responses are cut at once (nothing is left to finish, and their
        threads may be asleep in the application's iterator: not waited for); busy ones get
        until the deadline, then are cut too."""
        deadline = time.monotonic() + self.config.shutdown_timeout
        cut: set[socket.socket] = set()
        while True:
            cut |= self.responses.cut(open_ended_only=True)
            with self._workers_changed:
                busy = [worker for worker in self._workers if worker.sock not in cut]
                remaining = deadline - time.monotonic()
                if not busy or remaining <= 0:
                    break
                self._workers_changed.wait(min(remaining, CUT_INTERVAL))
        if busy:
            self.responses.cut()  # logged as cut now: their views may outlive this process
        for worker in busy:
            worker.abort()
        joined_by = time.monotonic() + _JOIN_TIMEOUT
        for worker in busy:
            worker.join(max(0.0, joined_by - time.monotonic()))


class ConnectionWorker:
    """One connection's request loop, with blocking reads bounded by timeouts."""

    def __init__(
        self, backend: ThreadedBackend, sock: socket.socket, address: tuple[str, int], received: bytes | None = None
    ) -> None:
        """``received``: an adopted connection, with these bytes of its next request head read."""
        self.backend = backend
        self.sock = sock
        self.client = (str(address[0]), int(address[1]))
        self.connection = HTTPConnection()
        if received:
            self.connection.receive(received)
        self._carried = received or None
        self.transport: Transport = SocketTransport(sock, backend.config.send_timeout)
        self._finished = threading.Event()
        self._idle_wait = ReadableWaiter(sock, backend.stop_reader)
        self._data_wait = ReadableWaiter(sock)
        self._refused = False
        #: Only a blocking socket reads without Python's own wait (a socket with a timeout polls first).
        self._read_first = bool(DONT_WAIT) and sock.gettimeout() is None
        #: No request read yet: shutdown waits a moment for the first one (FIRST_REQUEST_GRACE).
        self._fresh = received is None
        #: Given to the next process on a restart: no longer ours to close.
        self._handed = False
        #: Reads once a wait said the socket is readable (a TLS connection's may wait on for the
        #: rest of a record): bound once, so the plain path pays nothing for the choice.
        self._recv: Callable[[int], bytes] = sock.recv

    def run(self) -> None:
        try:
            self._serve()
        except (ClientDisconnected, OSError):
            pass  # the client vanished: this connection ends, the server goes on
        finally:
            if self._handed:
                pass
            elif self._refused:
                close_after_error(self.sock)
            else:
                self.sock.close()
            self._finished.set()
            self.backend.worker_done(self)

    def _serve(self) -> None:
        request = self._next_request(self._carried)
        while request is not None and self._handle(request):
            request = self._next_request()

    def abort(self) -> None:
        """Cut the connection now (drain deadline passed): blocked reads and writes fail."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float) -> None:
        self._finished.wait(timeout)

    # -- reading -------------------------------------------------------------------------

    def _next_request(self, received: bytes | None = None) -> Request | None:
        """Wait for the next request head; None when the connection should close (or was
        handed over).

        The whole head must arrive within HEADER_TIMEOUT of its first byte, however slowly it
        trickles in (a slowloris client cannot hold the connection by sending a byte at a time).
        ``received`` keeps the bytes of a head that began on an idle connection, so that a
        restart can hand the connection over with them.
        """
        connection = self.connection
        head_deadline: float | None = None
        while True:
            try:
                event = connection.next_event()
            except HTTPError as error:
                self._refuse(error, self.sock)
                return None
            if isinstance(event, Request):
                self._fresh = False
                return event
            if event is CLOSED:
                return None
            if connection.idle:
                data = self._read_if_ready()
                if data is None:
                    if not self._wait_for_first_byte():
                        return None
                    data = self._recv(RECV_SIZE)
                received = data
            else:
                if head_deadline is None:
                    head_deadline = time.monotonic() + self.backend.config.header_timeout
                if not self._wait_for_more(head_deadline, received):
                    return None
                data = self._recv(RECV_SIZE)
                if received is not None:
                    received += data
            connection.receive(data)

    def _refuse(self, error: HTTPError, sock: socket.socket, request_line: str = "-") -> None:
        self._refused = True
        self.backend.refuse(self.transport, error, sock, request_line)

    def _read_if_ready(self) -> bytes | None:
        """The next request's bytes if they are already here (None if not): a busy client's next
        request usually is, and reading first saves the readiness wait's system call.
        """
        if not self._read_first:
            return None
        try:
            return self.sock.recv(RECV_SIZE, DONT_WAIT)
        except (BlockingIOError, InterruptedError):
            return None

    def _wait_for_first_byte(self) -> bool:
        """Idle keep-alive wait: False on timeout, or on shutdown unless a request has arrived
        (or, on a connection that has sent none yet, arrives within FIRST_REQUEST_GRACE). On a
        restart the connection goes to the next process instead, unread.
        """
        readable = self.sock.fileno() in self._idle_wait.wait(self.backend.config.keep_alive_timeout)
        if not self.backend.stopping:
            return readable
        if self._give_away(b""):
            return False
        return readable or (self._fresh and self._readable(FIRST_REQUEST_GRACE))

    def _wait_for_more(self, deadline: float, received: bytes | None) -> bool:
        """Wait for more of a request head: False once it timed out (answered 408) or went to
        the next process on a restart, with the part received (known unless the head began
        behind a pipelined request: then this process finishes it)."""
        backend = self.backend
        while True:
            if received is not None and backend.stopping and self._give_away(received):
                return False
            watch_stop = received is not None and backend.handover is not None and not backend.stopping
            ready = (self._idle_wait if watch_stop else self._data_wait).wait(deadline - time.monotonic())
            if self.sock.fileno() in ready:
                return True
            if not ready:
                self._refuse(RequestTimeout("Timed out reading the request."), self.sock)
                return False

    def _give_away(self, received: bytes) -> bool:
        self._handed = self.backend.hand_over(self.sock, self.client, received)
        return self._handed

    def _readable(self, timeout: float) -> bool:
        return bool(self._data_wait.wait(timeout))

    def _pull_body(self) -> bytes:
        """The next piece of the current body, reading the socket as the application asks."""
        connection = self.connection
        while True:
            try:
                event = connection.next_event()
            except HTTPError as error:
                raise ClientDisconnected(f"Malformed request body: {error.detail}") from error
            if isinstance(event, BodyChunk):
                return event.data
            if event is MESSAGE_END:
                return b""
            if event is CLOSED or isinstance(event, Request):
                raise ClientDisconnected("The client closed the connection before sending the whole body.")
            interim = connection.take_continue()
            if interim:
                self.transport.send(interim)
            if not self._readable(self.backend.config.header_timeout):
                raise ClientDisconnected("Timed out reading the request body.")
            connection.receive(self._recv(RECV_SIZE))

    # -- one request ---------------------------------------------------------------------

    def _handle(self, request: Request) -> bool:
        """Serve one request; True if the connection can carry another."""
        spool: BodySpool | None = None
        content_length = request.content_length
        try:
            if request.chunked:
                spool = BodySpool()
                try:
                    while piece := self._pull_body():
                        spool.write(piece)
                except ClientDisconnected as error:
                    if isinstance(error.__cause__, HTTPError):
                        self._refuse(error.__cause__, self.sock, request.request_line)
                    return False
                body = spool.reader()
                content_length = spool.size
            elif request.has_body:
                body = RequestBody(self._pull_body, awaiting_continue=request.expects_continue)
            else:
                body = RequestBody()
            response = self.backend.exchange(
                request, body, self.transport, self.client, self.sock, content_length=content_length
            )
        finally:
            if spool is not None:
                spool.close()
        if not response.keep_alive or not self.connection.reusable:
            return False
        if not self.connection.body_complete:
            unread = (request.content_length or 0) - body.bytes_read
            if unread > MAX_DRAIN:
                return False
            body.drain()
        return True
