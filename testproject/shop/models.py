from django.db import models


class Note(models.Model):
    """A record with an optional file, so uploads have somewhere real to land."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    attachment = models.FileField(upload_to="uploads/", blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return self.title


class Customer(models.Model):
    """Who placed an order: the related object an N+1 loop fetches one by one."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """Seeded by a migration (20 orders, each for its own customer), for the SQL accounting views."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20)
    total = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ("number",)

    def __str__(self) -> str:
        return self.number
