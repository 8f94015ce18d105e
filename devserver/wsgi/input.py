"""``wsgi.input``: a file-like view of one request body that never reads past its end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Final

#: Returns the next piece of the body, ``b""`` once the body is complete.
BodySource = Callable[[], bytes]

SPOOL_MEMORY_LIMIT: Final = 1024 * 1024
READ_SIZE: Final = 64 * 1024


def no_body() -> bytes:
    return b""


class RequestBody:
    """Reads pull pieces from a source lazily, so a body the app never reads is never received."""

    __slots__ = ("_buffer", "_done", "_source", "awaiting_continue", "bytes_read")

    def __init__(self, source: BodySource = no_body, *, awaiting_continue: bool = False) -> None:
        #: The client waits for ``100 Continue`` until the first read; if none comes, the stream
        #: position is unknowable and the connection must close after the response.
        self.awaiting_continue = awaiting_continue
        self._source = source
        self._buffer = bytearray()
        self._done = source is no_body
        self.bytes_read = 0

    def _fill(self) -> bool:
        """Pull one more piece into the buffer; False at the end of the body."""
        if self._done:
            return False
        self.awaiting_continue = False
        piece = self._source()
        if not piece:
            self._done = True
            return False
        self._buffer += piece
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.bytes_read += len(data)
        return data

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = size if size is not None and size >= 0 else None
        start = 0
        while True:
            newline = self._buffer.find(b"\n", start)
            if newline >= 0:
                end = newline + 1
                return self._take(end if limit is None else min(end, limit))
            if limit is not None and len(self._buffer) >= limit:
                return self._take(limit)
            start = len(self._buffer)
            if not self._fill():
                return self._take(len(self._buffer) if limit is None else limit)

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def drain(self) -> None:
        """Consume what is left of the body (so the connection can carry another request)."""
        self._buffer.clear()
        while self._fill():
            self._buffer.clear()


class BodySpool:
    """A body received in full before the application runs (chunked bodies, the single
    backend): kept in memory up to 1 MiB, then in a temporary file.
    """

    def __init__(self) -> None:
        import tempfile  # not at module level: it costs ~3 ms of start-up, and most requests have no body

        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_LIMIT)  # noqa: SIM115 (closed by close())
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)

    def reader(self) -> RequestBody:
        self._file.seek(0)
        return RequestBody(partial(self._file.read, READ_SIZE))

    def close(self) -> None:
        self._file.close()
