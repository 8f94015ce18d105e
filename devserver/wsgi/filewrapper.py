"""``wsgi.file_wrapper``: marks a response the gateway may send with ``os.sendfile``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any


class FileWrapper:
    """Iterates a file in blocks; the gateway bypasses iteration for real files.

    Django's ``FileResponse`` and static files hand their file to this class, so a
    download goes from the page cache to the socket without passing through Python.
    """

    def __init__(self, filelike: IO[bytes], block_size: int = 64 * 1024) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while chunk := read(self.block_size):
            yield chunk

    def close(self) -> None:
        close: Any = getattr(self.filelike, "close", None)
        if close is not None:
            close()
