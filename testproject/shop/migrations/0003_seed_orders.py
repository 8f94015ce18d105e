# ruff: noqa: RUF012
"""Twenty orders, each for a customer of its own: the SQL accounting views count on exactly these."""

from decimal import Decimal

from django.db import migrations

ORDERS = 20


def seed(apps, schema_editor):
    Customer = apps.get_model("shop", "Customer")
    Order = apps.get_model("shop", "Order")
    for n in range(1, ORDERS + 1):
        customer = Customer.objects.create(name=f"Customer {n}")
        Order.objects.create(customer=customer, number=f"A-{n:04d}", total=Decimal(n) * Decimal("9.50"))


def unseed(apps, schema_editor):
    apps.get_model("shop", "Order").objects.all().delete()
    apps.get_model("shop", "Customer").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_orders")]

    operations = [migrations.RunPython(seed, unseed)]
