"""The shell recipe of docs/ci.md, run as written against the test project.

The recipe is read from the documentation itself, so the page cannot drift from what works.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..server import REPO

RECIPE_BLOCK = re.compile(r"## A shell recipe\n.*?```sh\n(?P<script>.*?)```", re.DOTALL)

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the recipe uses curl")


def recipe() -> str:
    match = RECIPE_BLOCK.search((REPO / "docs" / "ci.md").read_text())
    assert match is not None, "docs/ci.md has no '## A shell recipe' section with an sh block"
    return match["script"]


def run_recipe(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "smoke.sh"
    path.write_text(script)
    # The recipe calls `python`: this interpreter's directory (a virtualenv's bin/) comes first.
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "python").exists()
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "TMPDIR": str(tmp_path)}
    return subprocess.run(
        ["sh", str(path)],
        cwd=REPO / "testproject",
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_recipe_passes_against_the_test_project(project_env: dict[str, str], tmp_path: Path) -> None:
    result = run_recipe(recipe(), project_env, tmp_path)
    assert result.returncode == 0, result.stderr
    logs = list(tmp_path.glob("*/devrun.log"))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert '"GET /admin/login/ HTTP/1.1" 200' in log
    assert "Shutting down" in log  # stopped by the recipe's SIGTERM, not killed
    assert not list(tmp_path.glob("*/devrun.json"))  # the ready file went with the server


def test_the_recipe_fails_when_a_page_fails(project_env: dict[str, str], tmp_path: Path) -> None:
    script = recipe().replace('"${url}admin/login/"', '"${url}no-such-page/"')
    assert "no-such-page" in script
    result = run_recipe(script, project_env, tmp_path)
    assert result.returncode == 22, result.stderr  # curl --fail on the 404
    assert "404" in result.stderr
