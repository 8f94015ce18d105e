"""One request's queries: a count, their time, and which statement repeats with varying parameters."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from typing import Any, Final

#: Longest statement a warning names in full; past it, the statement is cut.
STATEMENT_CHARS: Final = 300


class _Statement:
    """How often one SQL string ran, and whether its parameters ever changed."""

    __slots__ = ("count", "first_params", "varied")

    def __init__(self, params: Any) -> None:
        self.count = 1
        self.first_params = params
        self.varied = False


class QueryTally:
    """The queries of one request, whatever database alias or thread of the request ran them.

    ``record`` runs once per query, so it does as little as it can: a count, a sum, and one
    dictionary entry per distinct SQL string (parameters stay separate in Django's SQL, so
    the N+1 loop's queries share one string).
    """

    __slots__ = ("_statements", "count", "printer", "seconds", "token")

    def __init__(self, printer: Callable[..., None] | None = None) -> None:
        self.count = 0
        self.seconds = 0.0
        #: Called with (sql, params, many, seconds, context) after each query (``--print-sql``).
        self.printer = printer
        #: The context variable's token while this tally is the current one (see accounting).
        self.token: Token[QueryTally | None] | None = None
        self._statements: dict[str, _Statement] = {}

    def record(self, sql: str, params: Any, many: bool, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds
        if many:
            return  # one executemany() is one round trip, not a loop of the view's
        statement = self._statements.get(sql)
        if statement is None:
            self._statements[sql] = _Statement(params)
        else:
            statement.count += 1
            if not statement.varied:
                statement.varied = _differ(params, statement.first_params)

    def access_suffix(self) -> str:
        """What the access line gains: `` 23q 12.5ms``, or nothing when no query ran."""
        return f" {self.count}q {self.seconds * 1000:.1f}ms" if self.count else ""

    def repeated(self, threshold: int) -> list[tuple[str, int]]:
        """Statements run ``threshold`` times or more with different parameters: likely N+1 loops."""
        if threshold <= 0 or self.count < threshold:
            return []
        found = [(sql, s.count) for sql, s in self._statements.items() if s.count >= threshold and s.varied]
        return sorted(found, key=lambda item: -item[1])


def _differ(params: Any, first: Any) -> bool:
    try:
        return bool(params != first)
    except Exception:  # a parameter type whose comparison is not a plain bool (an array, say)
        return True


def shorten(sql: str, limit: int = STATEMENT_CHARS) -> str:
    """``sql`` on one line, cut at ``limit`` characters."""
    line = " ".join(sql.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
