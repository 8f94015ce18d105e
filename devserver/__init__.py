"""devserver: ``manage.py devrun``, a faster, sturdier drop-in for ``runserver``."""

__version__ = "0.1.0"
