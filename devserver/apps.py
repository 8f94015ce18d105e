from django.apps import AppConfig

from .handover import hand_over
from .startup import pause_collection_for_devrun

# Imported by apps.populate() before any models.py: the reloader's parent becomes the
# launcher here, before the project can fail (see devserver.handover).
hand_over("devrun")
pause_collection_for_devrun()


class DevserverConfig(AppConfig):
    """Registers the ``devrun`` management command (and nothing else at start-up)."""

    name = "devserver"
    verbose_name = "devserver"
