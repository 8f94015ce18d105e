"""The execute wrapper on real connections: what it counts, for whom, and where it sits."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from shop.models import Customer, Order

from devserver.sql.accounting import (
    CURRENT_TALLY,
    QueryAccounting,
    RequestQueries,
    count_query,
    query_accounting,
    watch_connection,
)
from devserver.sql.tally import QueryTally

pytestmark = pytest.mark.django_db


def counted(accounting: QueryAccounting, run: Any) -> RequestQueries:
    tally = accounting.begin()
    try:
        run()
    finally:
        tally.end()
    return tally


def test_queries_of_the_request_are_counted() -> None:
    accounting = QueryAccounting()
    accounting.install()
    tally = counted(accounting, lambda: [order.customer.name for order in Order.objects.all()])
    assert tally.count == 21  # the seeded orders, then each one's customer
    assert tally.suffix().startswith(" 21q ")


def test_a_connection_opened_after_install_is_watched() -> None:
    QueryAccounting().install()
    connection.close()
    Customer.objects.count()  # reconnects: connection_created
    assert connection.execute_wrappers[0] is count_query


def test_queries_outside_a_request_are_not_counted() -> None:
    accounting = QueryAccounting()
    accounting.install()
    tally = counted(accounting, lambda: None)
    Customer.objects.count()
    assert tally.count == 0
    assert CURRENT_TALLY.get() is None


def test_every_database_alias_counts() -> None:
    """A second database (an alias of its own, opened after install) counts into the same tally."""
    accounting = QueryAccounting()
    accounting.install()
    second_settings = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    settings_dict = connections.configure_settings({"default": second_settings, "second": second_settings})["second"]
    second = SQLiteWrapper(settings_dict, alias="second")

    def run() -> None:
        Customer.objects.count()
        with second.cursor() as cursor:
            cursor.execute("SELECT 1")

    try:
        tally = counted(accounting, run)
    finally:
        second.close()
    assert tally.count == 2


def test_the_wrapper_goes_first_so_a_project_s_execute_wrapper_block_pops_its_own() -> None:
    def project_wrapper(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        return execute(sql, params, many, context)

    with connection.execute_wrapper(project_wrapper):
        watch_connection(connection)  # as if the connection opened inside the project's block
    assert count_query in connection.execute_wrappers
    assert project_wrapper not in connection.execute_wrappers
    watch_connection(connection)
    assert connection.execute_wrappers.count(count_query) == 1


def test_each_thread_counts_into_its_own_tally() -> None:
    """Two threads run interleaved queries, each inside its own tally (the wrapper alone, no database)."""
    barrier = threading.Barrier(2, timeout=10)
    tallies: dict[int, QueryTally] = {}

    def fake_execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        return None

    def request(queries: int) -> None:
        tally = QueryTally()
        token = CURRENT_TALLY.set(tally)
        for n in range(queries):
            if n == queries // 2:
                barrier.wait()
            count_query(fake_execute, "SELECT %s", (n,), False, {})
        CURRENT_TALLY.reset(token)
        tallies[queries] = tally

    threads = [threading.Thread(target=request, args=(n,)) for n in (3, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert {n: tally.count for n, tally in tallies.items()} == {3: 3, 8: 8}


def test_a_failing_query_still_counts() -> None:
    accounting = QueryAccounting()
    accounting.install()

    def run() -> None:
        with pytest.raises(Exception, match="no_such_table"), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    assert counted(accounting, run).count == 1


def test_n_plus_one_is_one_warning_naming_the_statement(caplog: pytest.LogCaptureFixture) -> None:
    accounting = QueryAccounting(n_plus_one=10)
    accounting.install()
    tally = counted(accounting, lambda: [order.customer.name for order in Order.objects.all()])
    with caplog.at_level(logging.WARNING, logger="django.server"):
        tally.warn_repeats("GET /orders/ HTTP/1.1")
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith('Likely N+1: 20 queries in "GET /orders/ HTTP/1.1" ran the same SQL')
    assert message.count("SELECT") == 1
    assert '"shop_customer"' in message


def test_nothing_to_count_means_no_accounting() -> None:
    assert query_accounting(summary=False, n_plus_one=10, print_sql=False) is None
    accounting = query_accounting(summary=False, n_plus_one=10, print_sql=True)
    assert accounting is not None
    tally = counted(accounting, Customer.objects.count)
    assert tally.count == 1
    assert tally.suffix() == ""  # printing only: the access line stays as it was
