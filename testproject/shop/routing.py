"""Websocket routes of the test project (served with ``TESTPROJECT_ASGI=1``)."""

from typing import Any

from django.urls import path

from . import consumers

# Channels routes consumers with Django's path(); django-stubs only knows views, hence Any.
_echo: Any = consumers.EchoConsumer.as_asgi()
_broadcast: Any = consumers.BroadcastConsumer.as_asgi()
_reject: Any = consumers.RejectConsumer.as_asgi()

websocket_urlpatterns: list[Any] = [
    path("ws/echo/", _echo),
    path("ws/broadcast/", _broadcast),
    path("ws/reject/", _reject),
]
