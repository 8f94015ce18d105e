from django.apps import AppConfig

from ..handover import hand_over
from ..startup import pause_collection_for_devrun

# Imported by apps.populate() before any models.py: the reloader's parent becomes the
# launcher here, before the project can fail (see devserver.handover).
hand_over("runserver")
pause_collection_for_devrun()


class RunserverConfig(AppConfig):
    """Provides ``runserver`` (and ``devrun``, which its reloader's children run)."""

    name = "devserver.runserver"
    label = "devserver_runserver"
    verbose_name = "devserver as runserver"
