"""``--print-sql``: each statement as the database ran it, formatted, with its time and alias."""

from __future__ import annotations

import logging

import pytest
from shop.models import Order

from devserver.sql.accounting import QueryAccounting

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
