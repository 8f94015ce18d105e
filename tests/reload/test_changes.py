"""Batching changes: stepped with made-up timestamps, never real time."""

from __future__ import annotations

import threading
from pathlib import Path

from devserver.reload.changes import ChangeInbox, Debouncer

A, B, C = Path("/p/a.py"), Path("/p/b.py"), Path("/p/c.py")


def test_a_burst_becomes_one_batch_once_quiet() -> None:
    debouncer = Debouncer(quiet=0.25, longest=60.0)  # times in eighths: exact in binary
    for step in range(20):
        debouncer.add(Path(f"/p/m{step}.py"), now=step * 0.125)
        assert debouncer.pop_due(now=step * 0.125) is None
    last = 19 * 0.125
    assert debouncer.time_left(now=last) == 0.25
    assert debouncer.pop_due(now=last + 0.125) is None
    batch = debouncer.pop_due(now=last + 0.25)
    assert batch is not None
    assert len(batch) == 20
    assert batch.first_seen == 0.0
    assert not debouncer.pending


def test_repeated_changes_to_one_file_count_once_in_arrival_order() -> None:
    debouncer = Debouncer(quiet=0.05)
    for path, now in ((B, 0.0), (A, 0.01), (B, 0.02), (C, 0.03)):
        debouncer.add(path, now)
    batch = debouncer.pop_due(now=1.0)
    assert batch is not None
    assert list(batch.paths) == [B, A, C]


def test_changes_that_never_stop_are_acted_on_after_the_longest_wait() -> None:
    debouncer = Debouncer(quiet=0.05, longest=1.0)
    now = 0.0
    while now < 0.99:
        debouncer.add(A, now)
        assert debouncer.pop_due(now) is None
        now = round(now + 0.03, 2)
    debouncer.add(A, 1.0)
    assert debouncer.pop_due(1.0) is not None


def test_nothing_pending_means_no_deadline() -> None:
    debouncer = Debouncer(quiet=0.05)
    assert debouncer.time_left(now=5.0) is None
    assert debouncer.pop_due(now=5.0) is None


def test_zero_delay_acts_at_once() -> None:
    debouncer = Debouncer(quiet=0.0)
    debouncer.add(A, now=3.0)
    assert debouncer.pop_due(now=3.0) is not None


def test_inbox_returns_everything_put_so_far() -> None:
    inbox = ChangeInbox()
    inbox.put(A)
    inbox.put(B)
    assert inbox.take(timeout=None) == [A, B]
    assert inbox.take(timeout=0) == []


def test_inbox_wakes_a_waiting_taker() -> None:
    inbox = ChangeInbox()
    taken: list[list[Path]] = []
    taker = threading.Thread(target=lambda: taken.append(inbox.take(timeout=None)))
    taker.start()
    inbox.wake()
    taker.join(10)
    assert not taker.is_alive()
    assert taken == [[]]


def test_inbox_hands_a_path_to_a_waiting_taker() -> None:
    inbox = ChangeInbox()
    taken: list[list[Path]] = []
    taker = threading.Thread(target=lambda: taken.append(inbox.take(timeout=None)))
    taker.start()
    inbox.put(C)
    taker.join(10)
    assert taken == [[C]]
