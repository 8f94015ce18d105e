"""``--print-sql``: each statement as the database ran it, formatted, with its time and alias."""

from __future__ import annotations

import logging

import pytest
from shop.models import Customer, Order

from devserver.sql.accounting import QueryAccounting
from devserver.sql.printer import FORMAT_LIMIT, formatted

pytestmark = pytest.mark.django_db


def test_each_statement_is_printed_formatted_with_its_parameters(caplog: pytest.LogCaptureFixture) -> None:
    accounting = QueryAccounting(print_sql=True)
    accounting.install()
    tally = accounting.begin()
    with caplog.at_level(logging.INFO, logger="django.server"):
        list(Order.objects.filter(number="A-0003"))
    tally.end()
    [record] = caplog.records
    header, *statement = record.getMessage().splitlines()
    assert header.startswith("SQL ")
    assert header.endswith("ms (default)")
    assert statement[0].startswith("    SELECT ")
    assert any(line.strip().startswith('FROM "shop_order"') for line in statement)
    assert any("'A-0003'" in line for line in statement)  # the parameter, as the database saw it


def test_a_huge_statement_is_printed_cut_instead_of_formatted(caplog: pytest.LogCaptureFixture) -> None:
    """sqlparse refuses statements past 10,000 tokens (and is slow well before): the view must not notice."""
    accounting = QueryAccounting(print_sql=True)
    accounting.install()
    tally = accounting.begin()
    with caplog.at_level(logging.INFO, logger="django.server"):
        assert list(Customer.objects.filter(pk__in=range(1, 20_001)).values_list("pk", flat=True))[:2] == [1, 2]
    tally.end()
    [record] = caplog.records
    message = record.getMessage()
    assert message.endswith(" more characters)")
    assert len(message) < FORMAT_LIMIT + 200


def test_a_statement_sqlparse_refuses_is_printed_as_it_is() -> None:
    deep = "SELECT " + "(" * 150 + "1" + ")" * 150  # past sqlparse's grouping depth limit
    assert formatted(deep) == deep
    assert formatted("select 1 from t where a = 1").splitlines() == ["SELECT 1", "FROM t", "WHERE a = 1"]
