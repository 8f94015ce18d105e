"""The threaded backend's thread reuse, stepped without sockets."""

from __future__ import annotations

import threading

from devserver.backends.threaded import ReusableThreads


def wait_for_waiting(threads: ReusableThreads, count: int, timeout: float = 10.0) -> bool:
    """Poll the pool's waiting-thread count until it equals ``count`` or ``timeout`` passes."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.01)):
        with threads._lock:
            if threads._waiting == count:
                return True
        tick.wait(0.01)
    return False


def test_a_finished_thread_takes_the_next_job() -> None:
    threads = ReusableThreads(idle_seconds=30)
    seen: list[str] = []
    first_done = threading.Event()
    second_done = threading.Event()

    def first() -> None:
        seen.append(threading.current_thread().name + str(threading.get_ident()))
        first_done.set()

    def second() -> None:
        seen.append(threading.current_thread().name + str(threading.get_ident()))
        second_done.set()

    threads.submit(first)
    assert first_done.wait(10)
    assert wait_for_waiting(threads, 1), "the thread never came back for more work"
    threads.submit(second)
    assert second_done.wait(10)
    assert seen[0] == seen[1], "the second job ran on a new thread"


def test_idle_threads_exit_after_their_idle_time() -> None:
    threads = ReusableThreads(idle_seconds=0.2)
    done = threading.Event()
    threads.submit(done.set)
    assert done.wait(10)
    assert wait_for_waiting(threads, 1)
    assert wait_for_waiting(threads, 0), "an idle thread outlived its idle time"
