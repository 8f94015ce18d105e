"""A request's tally: counts, time, and the statements that repeat with varying parameters."""

from __future__ import annotations

from devserver.sql.tally import QueryTally, shorten

CUSTOMER = 'SELECT "shop_customer"."name" FROM "shop_customer" WHERE "shop_customer"."id" = %s'


def test_counts_and_sums_every_query() -> None:
    tally = QueryTally()
    tally.record("SELECT 1", (), False, 0.002)
    tally.record("SELECT 2", (), False, 0.0005)
    tally.record("INSERT ...", [(1,), (2,)], True, 0.001)
    assert tally.count == 3
    assert tally.access_suffix() == " 3q 3.5ms"


def test_no_query_adds_nothing_to_the_access_line() -> None:
    assert QueryTally().access_suffix() == ""


def test_same_sql_with_different_parameters_is_repeated() -> None:
    tally = QueryTally()
    for customer in range(12):
        tally.record(CUSTOMER, (customer,), False, 0.0001)
    tally.record("SELECT * FROM shop_order", (), False, 0.0001)
    assert tally.repeated(10) == [(CUSTOMER, 12)]
    assert tally.repeated(13) == []


def test_same_sql_with_the_same_parameters_is_not_an_n_plus_one() -> None:
    tally = QueryTally()
    for _ in range(12):
        tally.record(CUSTOMER, (1,), False, 0.0001)
    assert tally.repeated(10) == []


def test_executemany_is_one_round_trip_not_a_loop() -> None:
    tally = QueryTally()
    for batch in range(12):
        tally.record("INSERT INTO t VALUES (%s)", [(batch,), (batch + 1,)], True, 0.0001)
    assert tally.count == 12
    assert tally.repeated(10) == []


def test_threshold_zero_turns_the_check_off() -> None:
    tally = QueryTally()
    for customer in range(30):
        tally.record(CUSTOMER, (customer,), False, 0.0001)
    assert tally.repeated(0) == []


def test_most_repeated_statement_comes_first() -> None:
    tally = QueryTally()
    for n in range(11):
        tally.record("A %s", (n,), False, 0.0)
    for n in range(15):
        tally.record("B %s", (n,), False, 0.0)
    assert [sql for sql, _ in tally.repeated(10)] == ["B %s", "A %s"]


def test_parameters_that_do_not_compare_to_a_bool_count_as_different() -> None:
    class Vector:
        def __ne__(self, other: object) -> bool:
            raise ValueError("the truth value of an array is ambiguous")

    tally = QueryTally()
    for _ in range(10):
        tally.record("SELECT %s", (Vector(),), False, 0.0)
    assert tally.repeated(10) == [("SELECT %s", 10)]


def test_statements_are_shown_on_one_line_and_cut() -> None:
    assert shorten("SELECT a,\n       b\n  FROM t") == "SELECT a, b FROM t"
    long = shorten("SELECT " + "x, " * 200, limit=50)
    assert len(long) == 50
    assert long.endswith("…")
