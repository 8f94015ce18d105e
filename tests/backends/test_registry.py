"""Choosing a backend by name or dotted path."""

from __future__ import annotations

import pytest

from devserver.backends import BACKENDS, resolve_backend
from devserver.backends.single import SingleBackend
from devserver.backends.threaded import ThreadedBackend
from devserver.errors import ConfigurationError


def test_registered_names_resolve_to_their_classes() -> None:
    assert resolve_backend("threaded") is ThreadedBackend
    assert resolve_backend("single") is SingleBackend
    assert set(BACKENDS) >= {"threaded", "single"}


def test_a_dotted_path_resolves_to_any_backend_class() -> None:
    assert resolve_backend("devserver.backends.single.SingleBackend") is SingleBackend


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown backend 'nope'; choose one of: threaded, single"):
        resolve_backend("nope")


def test_unimportable_path_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="Cannot import backend"):
        resolve_backend("no.such.Backend")


def test_a_path_to_something_that_is_not_a_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a class with serve_forever"):
        resolve_backend("devserver.conf.load_config")


def test_backend_classes_declare_their_concurrency() -> None:
    assert ThreadedBackend.multithread is True
    assert SingleBackend.multithread is False
