"""``--print-sql``: each statement, formatted by sqlparse (which Django depends on), with its time."""

from __future__ import annotations

import logging
import textwrap
from typing import Any, Final

import sqlparse

from ..accesslog import SERVER_TIME

logger: Final = logging.getLogger("django.server")

#: Longer statements (an ``IN`` list of thousands of values) are printed cut, not formatted:
#: sqlparse takes a second over them, or refuses them outright.
FORMAT_LIMIT: Final = 4000


def print_query(sql: str, params: Any, many: bool, seconds: float, context: dict[str, Any]) -> None:
    """Log one statement as the database ran it (parameters filled in where the backend can say)."""
    connection = context["connection"]
    if many:
        statement = sql
        note = f", executemany with {len(params) if hasattr(params, '__len__') else 'many'} parameter sets"
    else:
        statement = _executed(connection, context.get("cursor"), sql, params)
        note = ""
    indented = textwrap.indent(formatted(statement), "    ")
    extra = {"server_time": SERVER_TIME.value()}
    logger.info("SQL %.2fms (%s%s)\n%s", seconds * 1000, connection.alias, note, indented, extra=extra)


def formatted(statement: str) -> str:
    """The statement indented by clause; cut instead when it is too long to format quickly."""
    if len(statement) > FORMAT_LIMIT:
        return f"{statement[:FORMAT_LIMIT]}… ({len(statement) - FORMAT_LIMIT:,} more characters)"
    try:
        return str(sqlparse.format(statement, reindent=True, keyword_case="upper", truncate_strings=500))
    except Exception:  # sqlparse's own limits (SQLParseError), or a bug: print it as it is
        return statement


def _executed(connection: Any, cursor: Any, sql: str, params: Any) -> str:
    try:
        return str(connection.ops.last_executed_query(cursor, sql, params))
    except Exception:  # the query failed, or the backend cannot rebuild it
        return sql
