"""The collector pause during devrun's start-up."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from devserver.startup import pause_collection_for_devrun, resume_collection


@pytest.fixture
def collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
def test_only_devrun_pauses_the_collector() -> None:
    gc.enable()
    pause_collection_for_devrun(["manage.py", "migrate"])
    assert gc.isenabled()
    pause_collection_for_devrun(["manage.py"])
    assert gc.isenabled()
    pause_collection_for_devrun(["manage.py", "devrun", "0:8000"])
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_resume_freezes_what_start_up_built_and_collects_again() -> None:
    gc.disable()
    resume_collection()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
