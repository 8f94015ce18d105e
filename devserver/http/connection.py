"""One HTTP/1.1 connection's state, without I/O: which request is current, where its body
stands, whether ``100 Continue`` is owed, and whether the connection can carry another request.
"""

from __future__ import annotations

from typing import Final

from .errors import HTTPError
from .limits import Limits
from .parser import MESSAGE_END, Event, Request, RequestParser

CONTINUE_RESPONSE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class NeedData:
    """Feed more bytes (:meth:`HTTPConnection.receive`) before the next event."""

    __slots__ = ()


class Closed:
    """The peer closed its side; no further event will come."""

    __slots__ = ()


NEED_DATA: Final = NeedData()
CLOSED: Final = Closed()


class HTTPConnection:
    """Feed it bytes, take events out; it never touches a socket."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._parser = RequestParser(limits)
        self._eof = False
        self._body_complete = True
        self._continue_owed = False
        self._error: HTTPError | None = None
        self.request: Request | None = None

    def receive(self, data: bytes) -> None:
        """Parse ``data``; ``b""`` means end of stream.

        A protocol error is kept until the events before it have been taken, so a bad
        pipelined request never spoils the response to a good one before it.
        """
        if self._error is not None:
            return
        if not data:
            self._eof = True
            return
        try:
            self._parser.feed(data)
        except HTTPError as error:
            self._error = error

    def next_event(self) -> Event | NeedData | Closed:
        """The next event; raises the pending :class:`~.errors.HTTPError` once the queue is empty."""
        event = self._parser.next_event()
        if event is None:
            if self._error is not None:
                raise self._error
            return CLOSED if self._eof else NEED_DATA
        if isinstance(event, Request):
            self.request = event
            self._body_complete = not event.has_body
            self._continue_owed = event.expects_continue and event.has_body
        elif event is MESSAGE_END:
            self._body_complete = True
            self._continue_owed = False
        return event

    def take_continue(self) -> bytes:
        """The interim ``100 Continue`` response, once, if the client waits for it."""
        if self._continue_owed:
            self._continue_owed = False
            return CONTINUE_RESPONSE
        return b""

    @property
    def idle(self) -> bool:
        """Between requests, with nothing of the next one received yet."""
        return self._body_complete and not self._parser.in_message and not self._parser.has_events

    @property
    def upgrade_data(self) -> bytes:
        """What the client sent after an upgrade request's head (the new protocol's first bytes)."""
        return self._parser.upgrade_data

    @property
    def between_requests(self) -> bool:
        """No request under way: idle, or only part of the next request's head received."""
        return self._body_complete and not self._parser.has_events

    @property
    def body_complete(self) -> bool:
        return self._body_complete

    @property
    def reusable(self) -> bool:
        """Whether another request may follow once the current body has been drained.

        A client still waiting for ``100 Continue`` may or may not send its body, so the
        stream position is unknowable: such a connection must close.
        """
        return not self._continue_owed and not self._parser.upgraded
