"""Clients that run beside a measurement, in a thread, for as long as a ``with`` block lasts."""

from __future__ import annotations

import threading
from typing import Self


class BackgroundClient:
    """Runs :meth:`run` in a daemon thread from ``__enter__`` until ``__exit__`` sets ``stopping``."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._thread.join()

    def run(self) -> None:
        raise NotImplementedError
