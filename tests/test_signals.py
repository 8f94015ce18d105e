"""Stop signals left to the main thread."""

from __future__ import annotations

import signal
import threading

from devserver.signals import STOP_SIGNALS, block_in_this_thread, signals_blocked


def test_signals_blocked_restores_the_mask_on_exit() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    with signals_blocked():
        inside = signal.pthread_sigmask(signal.SIG_BLOCK, set())
        assert inside >= STOP_SIGNALS
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_threads_started_inside_inherit_the_block() -> None:
    seen: list[set[int]] = []

    def record() -> None:
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, set())))

    with signals_blocked():
        thread = threading.Thread(target=record)
        thread.start()
    thread.join(10)
    assert seen[0] >= STOP_SIGNALS


def test_block_in_this_thread_leaves_the_main_thread_alone() -> None:
    seen: list[set[int]] = []

    def worker() -> None:
        block_in_this_thread()
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, set())))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert seen[0] >= STOP_SIGNALS
    assert not STOP_SIGNALS & set(signal.pthread_sigmask(signal.SIG_BLOCK, set()))
