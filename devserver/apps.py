from django.apps import AppConfig

from .startup import pause_collection_for_devrun

pause_collection_for_devrun()


class DevserverConfig(AppConfig):
    """Registers the ``devrun`` management command (and nothing else at start-up)."""

    name = "devserver"
    verbose_name = "devserver"
