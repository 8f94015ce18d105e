"""The supervisor's queue, woken by other threads and by signals whichever thread gets them."""

from __future__ import annotations

import contextlib
import selectors
import signal
import threading
import time
from types import FrameType

from devserver.reload.events import EventQueue


def test_an_item_put_by_another_thread_wakes_get() -> None:
    with contextlib.closing(EventQueue[str]()) as events:
        putter = threading.Thread(target=events.put, args=("exited",))
        putter.start()
        assert events.get(timeout=30) == "exited"
        putter.join()


def test_get_returns_none_when_the_timeout_passes() -> None:
    with contextlib.closing(EventQueue[str]()) as events:
        assert events.get(timeout=0) is None
        events.put("a")
        events.put("b")
        assert [events.get(timeout=0), events.get(timeout=0)] == ["a", "b"]


class WatchedSelector:
    """The queue's selector, telling when the main thread goes to sleep in it."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self.selector = selector
        self.sleeping = threading.Event()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.sleeping.set()
        return self.selector.select(timeout)

    def close(self) -> None:
        self.selector.close()


def test_a_signal_delivered_to_another_thread_wakes_the_main_thread() -> None:
    events = EventQueue[int]()
    watched = WatchedSelector(events._selector)
    events._selector = watched  # type: ignore[assignment]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        events.put(signum)  # Python runs this on the main thread, once it runs again

    def signal_this_thread_once_main_sleeps() -> None:
        assert watched.sleeping.wait(30)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, on_signal)
    try:
        with events.waking_on_signals():
            elsewhere = threading.Thread(target=signal_this_thread_once_main_sleeps)
            elsewhere.start()
            started = time.monotonic()
            got = events.get(timeout=30)  # without the wake-up descriptor: asleep for all of it
            waited = time.monotonic() - started
            elsewhere.join()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        events.close()
    assert got == signal.SIGUSR1
    assert waited < 10
