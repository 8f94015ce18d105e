"""``manage.py devrun``, for projects that list only ``devserver.runserver``: the reloader's
children run it, because ``runserver`` is the one name Django's set-up guard treats apart."""

from ....management.commands.devrun import Command

__all__ = ["Command"]
