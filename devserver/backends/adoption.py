"""Connections that outlive the process serving them: the seam between a backend and the reloader.

Closing an idle keep-alive connection always races with the client's next request (the
client may send it just as the close goes out, and then sees ``RemoteDisconnected``). So on
a restart a backend does not close them: it gives each one, with whatever it already read
of the next request, to a :class:`ConnectionHandover`, and the process that replaces it
adopts them (:meth:`AdoptingBackend.adopt`) as if it had just accepted them.

Nothing here knows how connections travel (the reloader sends descriptors over its control
socket: :mod:`devserver.reload.handover`) or how a backend schedules them. A backend that does
not implement :class:`AdoptingBackend` closes its idle connections on a restart, as before.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable


@dataclass(slots=True)
class HandedConnection:
    """A client connection between two processes, with no request in flight."""

    sock: socket.socket
    client: tuple[str, int]
    #: The start of the client's next request head, already read from the socket (often empty).
    received: bytes = b""

    def close(self) -> None:
        self.sock.close()


class ConnectionHandover(Protocol):
    """Where a restarting backend gives the connections worth keeping."""

    def give(self, connection: HandedConnection) -> bool:
        """Take ``connection`` (True: its socket has been sent on and closed here), or refuse it
        (False: the caller still owns the socket, and closes it)."""


@runtime_checkable
class AdoptingBackend(Protocol):
    """A backend whose connections survive a restart: it gives them up on ``shutdown(restart=True)``
    and takes over those of the process it replaces.

    The reloader sets ``handover`` in a child it may restart (None otherwise). A backend that
    must not take part (TLS: the session's keys live only in the process that negotiated it)
    says so with a class attribute ``hands_over_connections = False``.
    """

    handover: ConnectionHandover | None

    def adopt(self, connection: HandedConnection) -> bool:
        """Serve ``connection`` as if just accepted, its ``received`` bytes already read; called
        from another thread. False if this backend no longer serves (the caller keeps it)."""


def takes_part_in_handovers(backend: object) -> TypeGuard[AdoptingBackend]:
    return isinstance(backend, AdoptingBackend) and getattr(backend, "hands_over_connections", True) is True


class AdoptionInbox:
    """Adopted connections waiting for a loop that selects on :attr:`reader` (one thread
    puts, the loop takes)."""

    def __init__(self) -> None:
        self._items: collections.deque[HandedConnection] = collections.deque()
        self._lock = threading.Lock()
        self._closed = False
        self.reader, self._writer = socket.socketpair()
        self.reader.setblocking(False)
        self._writer.setblocking(False)

    def put(self, connection: HandedConnection) -> bool:
        """False once closed: the caller keeps the connection."""
        with self._lock:
            if self._closed:
                return False
            self._items.append(connection)
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway; closed: close() took it
            self._writer.send(b"\0")
        return True

    def take(self) -> list[HandedConnection]:
        with contextlib.suppress(OSError):
            self.reader.recv(4096)
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def close(self) -> list[HandedConnection]:
        """Refuse further connections; the ones not taken yet are the caller's."""
        with self._lock:
            self._closed = True
            items = list(self._items)
            self._items.clear()
        self.reader.close()
        self._writer.close()
        return items
