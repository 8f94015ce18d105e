"""The lifespan protocol: startup, shutdown, failure and the applications that do not speak it."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from devserver.asgi.lifespan import Lifespan, LifespanStartupError


async def speaking(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "lifespan.startup"
    scope["state"]["pool"] = "open"
    await send({"type": "lifespan.startup.complete"})
    assert (await receive())["type"] == "lifespan.shutdown"
    scope["state"]["pool"] = "closed"
    await send({"type": "lifespan.shutdown.complete"})


async def failing(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})


async def like_django(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")


def test_startup_fills_the_state_and_shutdown_runs() -> None:
    state: dict[str, Any] = {}

    async def run() -> None:
        lifespan = Lifespan(speaking, state)
        await lifespan.startup()
        assert state == {"pool": "open"}
        await lifespan.shutdown(timeout=5)

    asyncio.run(run())
    assert state == {"pool": "closed"}


def test_startup_failure_raises_with_the_application_s_message() -> None:
    with pytest.raises(LifespanStartupError, match="no database") as failure:
        asyncio.run(Lifespan(failing, {}).startup())
    assert failure.value.exit_status == 1


def test_an_application_that_raises_does_not_support_lifespan_and_that_is_fine() -> None:
    async def run() -> bool:
        lifespan = Lifespan(like_django, {})
        await lifespan.startup()
        await lifespan.shutdown(timeout=5)  # nothing to say to it
        return lifespan.supported

    assert asyncio.run(run()) is False
