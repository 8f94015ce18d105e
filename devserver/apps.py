from django.apps import AppConfig


class DevserverConfig(AppConfig):
    """Registers the ``devrun`` management command (and nothing else at start-up)."""

    name = "devserver"
    verbose_name = "devserver"
