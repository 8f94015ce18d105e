"""``manage.py runserver`` is ``manage.py devrun`` (this app is listed before staticfiles)."""

from ....management.commands.devrun import Command

__all__ = ["Command"]
