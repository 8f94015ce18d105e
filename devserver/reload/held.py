"""The supervisor's side of a hand-over: connections held between the child that gave them up
and the next one that serves.

Where a connection goes depends only on the supervisor's state, never on the backend:

- a child serves and adopts connections: it gets them at once;
- the next child is still starting: they wait here (a request sent meanwhile waits in the
  kernel's buffer, read by whoever gets the connection next);
- the next child crashed: the error page answers them (and gives back those still silent
  when a fix starts another child);
- the supervisor stops, or the child that serves cannot adopt them: they are closed.

Every connection is owned by exactly one place at a time, and closed exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..backends.adoption import HandedConnection


class Receiver(Protocol):
    """A child process as far as hand-overs go (:class:`~.process.ChildProcess`)."""

    @property
    def adopts(self) -> bool: ...

    def send_connection(self, connection: HandedConnection) -> bool:
        """True: sent, and closed here. False: still ours."""


class HeldConnections:
    """Connections waiting for a child that serves."""

    def __init__(self) -> None:
        self._connections: list[HandedConnection] = []

    def __len__(self) -> int:
        return len(self._connections)

    def hold(self, connection: HandedConnection) -> None:
        self._connections.append(connection)

    def hold_all(self, connections: Iterable[HandedConnection]) -> None:
        self._connections.extend(connections)

    def take(self) -> list[HandedConnection]:
        """Every held connection, now the caller's."""
        taken, self._connections = self._connections, []
        return taken

    def pass_to(self, child: Receiver) -> None:
        """Send every held connection to ``child``, which serves. Those it cannot adopt (its
        backend does not) are closed; those that could not be sent (it died) stay held."""
        if not child.adopts:
            self.close()
            return
        self._connections = [connection for connection in self._connections if not child.send_connection(connection)]

    def close(self) -> None:
        for connection in self.take():
            connection.close()
