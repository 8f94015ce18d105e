"""Counting each request's queries with Django's ``connection.execute_wrapper`` mechanism.

One wrapper, :func:`count_query`, sits on every database connection of the process (put
there as each connection opens, through the ``connection_created`` signal, so every alias
and every thread's connection has it). It adds to the tally in :data:`CURRENT_TALLY`, a
context variable: a serving thread sets it for the request it runs, so each request counts
only its own queries; asgiref's ``sync_to_async`` copies the context into its threads, so an
ASGI server gets the same accounting by calling :meth:`QueryAccounting.begin` in the
request's task. With no tally set, the wrapper costs one context variable read a query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final

from django.db import connections
from django.db.backends.signals import connection_created

from ..accesslog import SERVER_TIME
from .tally import QueryTally, shorten

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

logger: Final = logging.getLogger("django.server")

#: The tally of the request running in this context, if any.
CURRENT_TALLY: Final[ContextVar[QueryTally | None]] = ContextVar("devserver_query_tally", default=None)

_DISPATCH_UID: Final = "devserver.sql.accounting"


def count_query(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """An ``execute_wrapper``: time the query into the current request's tally, if there is one."""
    tally = CURRENT_TALLY.get()
    if tally is None:
        return execute(sql, params, many, context)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        seconds = time.perf_counter() - started
        tally.record(sql, params, many, seconds)
        if tally.printer is not None:
            tally.printer(sql, params, many, seconds, context)


def watch_connection(connection: BaseDatabaseWrapper) -> None:
    """Put :func:`count_query` first (outermost) on ``connection``.

    First, not last: ``connection.execute_wrapper()`` removes its wrapper with ``pop()``, so a
    wrapper appended while a project's ``with connection.execute_wrapper(...)`` block is open
    would be the one its exit removes.
    """
    wrappers = connection.execute_wrappers
    if count_query not in wrappers:
        wrappers.insert(0, count_query)


def _on_connection_created(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    watch_connection(connection)


class QueryAccounting:
    """Per-request query accounting for a server: install once, then ``begin()`` each request."""

    def __init__(self, *, summary: bool = True, n_plus_one: int = 10, print_sql: bool = False) -> None:
        self.summary = summary
        self.n_plus_one = n_plus_one
        self.printer: Callable[..., None] | None = None
        if print_sql:
            from .printer import print_query  # sqlparse is imported only when statements are printed

            self.printer = print_query

    def install(self) -> None:
        """Wrap every connection that opens from now on, and those this thread has open already."""
        connection_created.connect(_on_connection_created, weak=False, dispatch_uid=_DISPATCH_UID)
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                watch_connection(connection)

    def begin(self) -> RequestQueries:
        """Start counting the queries of the request about to run in this context."""
        tally = RequestQueries(self)
        tally.token = CURRENT_TALLY.set(tally)
        return tally


class RequestQueries(QueryTally):
    """A request's tally that knows how the server reports it."""

    __slots__ = ("_accounting",)

    def __init__(self, accounting: QueryAccounting) -> None:
        super().__init__(accounting.printer)
        self._accounting = accounting

    def end(self) -> None:
        """Stop counting (in the context that called ``begin``); later queries are not this request's."""
        if self.token is not None:
            CURRENT_TALLY.reset(self.token)
            self.token = None

    def suffix(self) -> str:
        """The access line's `` 23q 12.5ms`` (nothing when the summary is off or no query ran)."""
        return self.access_suffix() if self._accounting.summary else ""

    def warn_repeats(self, request_line: str) -> None:
        """One warning line per statement that looks like an N+1 loop."""
        threshold = self._accounting.n_plus_one
        if self.count < threshold or not threshold:
            return
        for sql, count in self.repeated(threshold):
            logger.warning(
                'Likely N+1: %d queries in "%s" ran the same SQL with different parameters: %s',
                count,
                request_line,
                shorten(sql),
                extra={"server_time": SERVER_TIME.value()},
            )


def query_accounting(*, summary: bool, n_plus_one: int, print_sql: bool) -> QueryAccounting | None:
    """The installed accounting a server uses, or None when there is nothing to count for."""
    if not (summary or print_sql):
        return None
    accounting = QueryAccounting(summary=summary, n_plus_one=n_plus_one if summary else 0, print_sql=print_sql)
    accounting.install()
    return accounting
