"""Backends as plugins: a real distribution, built and installed at test time, registers a backend
under the ``devserver.backends`` entry-point group, and ``devrun --backend NAME`` serves with it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devserver.backends import BACKENDS, ENTRY_POINT_GROUP
from devserver.readiness import parse_ready_line

from ..conftest import ServerFactory
from ..server import fetch, run_devrun
from .test_command import assert_one_line_error

PLUGIN_MODULE = '''
"""A third-party backend: the threaded one under another name."""

from devserver.backends.threaded import ThreadedBackend


class ExampleBackend(ThreadedBackend):
    name = "example"
'''


def install_distribution(source: Path, target: Path, entry_points: dict[str, str], module: str) -> Path:
    """Build ``devrun-example-backend`` with pip and install it into ``target`` (a site directory)."""
    (source / "devrun_example_backend").mkdir(parents=True)
    (source / "devrun_example_backend" / "__init__.py").write_text(module)
    points = "\n".join(f'{name} = "{value}"' for name, value in entry_points.items())
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "devrun-example-backend"
            version = "1.0"

            [project.entry-points."{group}"]
            """
        ).format(group=ENTRY_POINT_GROUP)
        + points
        + "\n"
    )
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)]
    subprocess.run(command, check=True, timeout=300, stdin=subprocess.DEVNULL, capture_output=True)
    return target


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    entry_points = {
        "example": "devrun_example_backend:ExampleBackend",
        "threaded": "devrun_example_backend:ExampleBackend",  # may not replace the built-in
        "broken": "devrun_example_backend:NoSuchBackend",
    }
    return install_distribution(root / "src", root / "site", entry_points, PLUGIN_MODULE)


@pytest.fixture(scope="module")
def plugin_env(project_env: dict[str, str], plugin_site: Path) -> dict[str, str]:
    return {**project_env, "PYTHONPATH": str(plugin_site)}


@pytest.mark.slow
def test_a_registered_backend_serves_by_its_name(start_server: ServerFactory, plugin_env: dict[str, str]) -> None:
    server = start_server("--backend", "example", env=plugin_env)
    assert fetch("127.0.0.1", server.port, "/hello/") == (200, b"Hello, world!")
    output = server.output()
    assert ", example backend" in output
    ready = next(parse_ready_line(line) for line in server.lines if parse_ready_line(line))
    assert ready is not None
    assert ready.backend == "example"


@pytest.mark.slow
def test_a_plugin_cannot_replace_a_built_in_backend(start_server: ServerFactory, plugin_env: dict[str, str]) -> None:
    server = start_server("--backend", "threaded", env=plugin_env)
    assert ", threaded backend" in server.output()


@pytest.mark.slow
def test_an_unknown_name_lists_built_in_and_plugin_backends(plugin_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--backend", "nope"], plugin_env)
    line = assert_one_line_error(result, 2, "Unknown backend 'nope'")
    assert f"choose one of: {', '.join([*BACKENDS, 'broken', 'example'])} (or a dotted path" in line


@pytest.mark.slow
def test_a_plugin_that_does_not_import_is_a_one_line_error(plugin_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--backend", "broken"], plugin_env)
    assert_one_line_error(result, 2, "Cannot import backend 'broken'", "NoSuchBackend")
