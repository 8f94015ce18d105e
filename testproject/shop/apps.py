from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The test project's only app: the views exercised by tests and benchmarks."""

    name = "shop"
    verbose_name = "Shop"
