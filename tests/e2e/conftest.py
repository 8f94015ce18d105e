"""Fixtures the e2e modules share beyond the suite's own (``tests/conftest.py``)."""

from .test_reload import start_reloading

__all__ = ["start_reloading"]
