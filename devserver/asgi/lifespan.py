"""The ASGI lifespan protocol: ``startup`` before the first connection, ``shutdown`` after the last.

An application that raises when called with a ``lifespan`` scope does not support it (Django's
``ASGIHandler`` and Channels' ``ProtocolTypeRouter`` both do): that is tolerated, as the spec
asks, and the server serves without lifespan events. An application that answers
``lifespan.startup.failed`` stops the server before it is announced ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import DevserverError
from .types import ASGI_VERSION, ASGIApplication, Message

logger = logging.getLogger("django.server")


class LifespanStartupError(DevserverError):
    """The application answered ``lifespan.startup.failed``: the server does not start (exit 1)."""

    exit_status = 1

    def __init__(self, message: str) -> None:
        super().__init__(f"The ASGI application failed to start (lifespan.startup.failed): {message}")


class Lifespan:
    """Runs the application's lifespan task and relays startup and shutdown to it."""

    def __init__(self, application: ASGIApplication, state: dict[str, Any]) -> None:
        self._application = application
        #: The namespace the application may fill at startup; each scope gets a copy.
        self.state = state
        self._events: asyncio.Queue[Message] | None = None
        self._answer: asyncio.Future[Message] | None = None
        self._task: asyncio.Task[None] | None = None
        #: "starting" until the application answers startup, then "started" (or "unsupported").
        self._phase = "starting"

    @property
    def supported(self) -> bool:
        return self._phase != "unsupported"

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the answer; raise LifespanStartupError on failure."""
        loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._answer = loop.create_future()
        scope = {"type": "lifespan", "asgi": {"version": ASGI_VERSION, "spec_version": "2.0"}, "state": self.state}
        self._task = loop.create_task(self._run(scope))
        self._events.put_nowait({"type": "lifespan.startup"})
        answer = await self._answer
        if answer["type"] == "lifespan.startup.failed":
            raise LifespanStartupError(str(answer.get("message", "")) or "no message given")

    async def shutdown(self, timeout: float) -> None:
        """Send ``lifespan.shutdown`` and wait (at most ``timeout``) for the answer; failures are logged."""
        if self._phase != "started" or self._events is None or self._task is None:
            return
        self._answer = asyncio.get_running_loop().create_future()
        self._events.put_nowait({"type": "lifespan.shutdown"})
        try:
            answer = await asyncio.wait_for(asyncio.shield(self._answer), timeout)
        except TimeoutError:
            logger.error("The ASGI application did not finish its lifespan shutdown within %g s.", timeout)
            self._task.cancel()
            return
        if answer["type"] == "lifespan.shutdown.failed":
            logger.error("ASGI lifespan shutdown failed: %s", answer.get("message", "") or "no message given")

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self._application(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self._phase == "starting":
                # Raised before answering startup: the application does not support lifespan.
                self._phase = "unsupported"
                logger.debug("The ASGI application does not support lifespan (%s: %s)", type(error).__name__, error)
                self._settle({"type": "lifespan.unsupported"})
            else:
                logger.exception("Exception in the ASGI lifespan task")
                self._settle({"type": "lifespan.shutdown.failed", "message": f"{type(error).__name__}: {error}"})
        else:
            if self._phase == "starting":  # returned without a word: no lifespan either
                self._phase = "unsupported"
            self._settle({"type": "lifespan.returned"})

    async def _receive(self) -> Message:
        assert self._events is not None
        return await self._events.get()

    async def _send(self, message: Message) -> None:
        if not isinstance(message, Mapping):
            raise TypeError(f"An ASGI message must be a dict, not {type(message).__name__}")
        kind = message.get("type")
        if self._phase == "starting":
            expected: tuple[str, ...] = ("lifespan.startup.complete", "lifespan.startup.failed")
        else:
            expected = ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
        if kind not in expected:
            raise RuntimeError(f"Unexpected ASGI lifespan message {kind!r}; expected one of {', '.join(expected)}")
        if kind == "lifespan.startup.complete":
            self._phase = "started"
        self._settle(message)

    def _settle(self, message: Message) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(message)
