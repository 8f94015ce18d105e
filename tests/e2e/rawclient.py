"""A raw-socket HTTP/1.x client for tests that must see what ``http.client`` hides:
interim responses, framing, pipelining, and whether the server closed the connection.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..server import DevrunProcess

NO_BODY_STATUSES = frozenset({204, 304})
HOST = "127.0.0.1"


@dataclass
class RawResponse:
    """One response as it came off the wire."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    #: "content-length", "chunked", "close" or "none" (HEAD, 1xx, 204, 304).
    framing: str = "none"
    #: False when the body stopped before its framing said it was over.
    complete: bool = True
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    @property
    def closes(self) -> bool:
        return "close" in (self.header("Connection") or "").lower()


class ConnectionClosed(AssertionError):
    """The server closed the connection before a whole response head arrived."""


class RawClient:
    """One TCP connection (TLS with ``tls``); responses are read from a buffer kept across requests."""

    def __init__(self, port: int, host: str = HOST, timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        self.timeout = timeout
        self._buffer = bytearray()
        self.eof = False

    @classmethod
    def to(cls, server: DevrunProcess, timeout: float = 10.0) -> RawClient:
        """Connect to a started server (over 127.0.0.1 when it listens on every address; over
        TLS when it serves HTTPS)."""
        host = HOST if server.host in ("0.0.0.0", "localhost") else server.host
        return cls(server.port, host, timeout, tls=server.tls)

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # -- sending -----------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        version: str = "HTTP/1.1",
        host: str | None = HOST,
        send: bool = True,
    ) -> bytes:
        """Build (and by default send) one request; ``Content-Length`` is added for a body."""
        data = build_request(method, target, headers, body, version=version, host=host)
        if send:
            self.send(data)
        return data

    # -- receiving ---------------------------------------------------------------------

    def _fill(self) -> bool:
        """Receive more bytes into the buffer; False at end of stream (EOF or reset)."""
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self._buffer += data
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_line(self) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill():
                raise ConnectionClosed(f"connection closed mid-line; buffered {bytes(self._buffer)!r}")
        line = self._take(end + 2)
        return line[:-2]

    def read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                break
        return self._take(size)

    def read_head(self) -> RawResponse:
        """The status line and headers of the next response (interim ones included)."""
        if not self._buffer and not self._fill():
            raise ConnectionClosed("connection closed before a response")
        status_line = self.read_line().decode("latin-1")
        version, status, *reason = status_line.split(" ", 2)
        headers: list[tuple[str, str]] = []
        while line := self.read_line():
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        return RawResponse(version, int(status), reason[0] if reason else "", headers)

    def read_chunk(self) -> bytes | None:
        """The data of the next chunk of a chunked body; b"" for the last one, None if cut off."""
        try:
            size_line = self.read_line()
        except ConnectionClosed:
            return None
        size = int(size_line.split(b";", 1)[0], 16)
        data = self.read_exactly(size)
        if len(data) < size:
            return None
        try:
            if self.read_line() != b"":
                raise AssertionError(f"chunk of {size} bytes not followed by CRLF")
        except ConnectionClosed:
            return None
        if size == 0:
            return b""
        return data

    def read_body(self, response: RawResponse, method: str = "GET") -> RawResponse:
        """Read the body the head announced, recording its framing."""
        length = response.header("Content-Length")
        if method == "HEAD" or response.status < 200 or response.status in NO_BODY_STATUSES:
            response.framing = "none"
        elif "chunked" in (response.header("Transfer-Encoding") or ""):
            response.framing = "chunked"
            response.complete = False
            while (chunk := self.read_chunk()) is not None:
                if chunk == b"":
                    response.complete = True
                    break
                response.chunks.append(chunk)
            response.body = b"".join(response.chunks)
        elif length is not None:
            response.framing = "content-length"
            response.body = self.read_exactly(int(length))
            response.complete = len(response.body) == int(length)
        else:
            response.framing = "close"
            response.body = self.read_to_eof()
        return response

    def read_response(self, method: str = "GET", *, skip_interim: bool = True) -> RawResponse:
        """The next final response (``100 Continue`` and friends skipped unless asked)."""
        while True:
            head = self.read_head()
            if head.status >= 200 or not skip_interim:
                return self.read_body(head, method)

    def read_to_eof(self, timeout: float | None = None) -> bytes:
        """Everything until the server closes; fails if it is still open after ``timeout``."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"connection still open after the deadline; got {bytes(self._buffer)!r}")
                self.sock.settimeout(remaining)
                try:
                    if not self._fill():
                        return self._take(len(self._buffer))
                except TimeoutError:
                    continue
        finally:
            self.sock.settimeout(self.timeout)

    def assert_closed(self, timeout: float = 10.0) -> None:
        """The server closes the connection within ``timeout`` without sending anything more."""
        rest = self.read_to_eof(timeout)
        assert rest == b"", f"unexpected bytes before close: {rest[:200]!r}"


def build_request(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    host: str | None = HOST,
) -> bytes:
    header_list = list(headers)
    names = {name.lower() for name, _ in header_list}
    if host is not None and "host" not in names:
        header_list.insert(0, ("Host", host))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        header_list.append(("Content-Length", str(len(body))))
    lines = [f"{method} {target} {version}", *(f"{name}: {value}" for name, value in header_list)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*pieces: bytes) -> bytes:
    """A chunked request body made of ``pieces``, with its last chunk."""
    return b"".join(b"%x\r\n%b\r\n" % (len(piece), piece) for piece in pieces if piece) + b"0\r\n\r\n"


def get(server: DevrunProcess, target: str, headers: Iterable[tuple[str, str]] = ()) -> RawResponse:
    """One request on a fresh connection that the client closes afterwards."""
    with RawClient.to(server) as client:
        client.request("GET", target, [*headers, ("Connection", "close")])
        return client.read_response()
