"""``--print-sql``: each statement, formatted by sqlparse (which Django depends on), with its time."""

from __future__ import annotations

import logging
import textwrap
from typing import Any, Final

import sqlparse

from ..accesslog import SERVER_TIME

logger: Final = logging.getLogger("django.server")


def print_query(sql: str, params: Any, many: bool, seconds: float, context: dict[str, Any]) -> None:
    """Log one statement as the database ran it (parameters filled in where the backend can say)."""
    connection = context["connection"]
    if many:
        statement = sql
        note = f", executemany with {len(params) if hasattr(params, '__len__') else 'many'} parameter sets"
    else:
        statement = _executed(connection, context.get("cursor"), sql, params)
        note = ""
    formatted = sqlparse.format(statement, reindent=True, keyword_case="upper", truncate_strings=500)
    indented = textwrap.indent(formatted, "    ")
    extra = {"server_time": SERVER_TIME.value()}
    logger.info("SQL %.2fms (%s%s)\n%s", seconds * 1000, connection.alias, note, indented, extra=extra)


def _executed(connection: Any, cursor: Any, sql: str, params: Any) -> str:
    try:
        return str(connection.ops.last_executed_query(cursor, sql, params))
    except Exception:  # the query failed, or the backend cannot rebuild it
        return sql
