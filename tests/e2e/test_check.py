"""``devrun --check``: one request per path on the real socket, a table, and a verdict."""

from __future__ import annotations

import subprocess

from ..server import run_devrun

GOOD_PAGES = ["/", "/hello/", "/json/", "/admin/login/", "/static/shop/site.css"]


def rows(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """The table's rows by path: ``[status, time, unit, size, unit, (FAIL)]``."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["STATUS", "TIME", "SIZE", "PATH"])
    table: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        *cells, path = line.split()
        if path == "FAIL":
            *cells, path = cells
            cells.append("FAIL")
        table[path] = cells
    return table


def test_good_pages_pass_and_exit_zero(project_env: dict[str, str]) -> None:
    result = run_devrun(["--check", *GOOD_PAGES], project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result)
    assert list(table) == GOOD_PAGES
    assert {cells[0] for cells in table.values()} == {"200"}
    assert "Check passed: 5 paths (pass: status below 500)." in result.stdout
    assert "Performing system checks..." in result.stdout  # started as usual
    assert '"GET /admin/login/ HTTP/1.1" 200' in result.stderr  # on the real socket, through the access log


def test_a_page_that_raises_fails_the_check_with_its_first_lines(project_env: dict[str, str]) -> None:
    result = run_devrun(["--check", "/", "/error/", "/hello/"], project_env)
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result)
    assert table["/error/"][0] == "500"
    assert table["/error/"][-1] == "FAIL"
    assert table["/hello/"][0] == "200"  # the paths after a failure are still checked
    assert "FAIL /error/: 500 Internal Server Error" in result.stdout
    assert "    boom from testproject" in result.stdout
    assert "Check failed: 1 of 3 paths failed" in result.stdout


def test_not_found_passes_by_default_but_not_when_strict(project_env: dict[str, str]) -> None:
    lenient = run_devrun(["--check", "/hello/", "/no-such-page/"], project_env)
    strict = run_devrun(["--check", "/hello/", "/no-such-page/", "--check-strict"], project_env)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert rows(strict)["/no-such-page/"][0] == "404"
    assert "(pass: status 2xx or 3xx)" in strict.stdout


def test_check_uses_the_given_address(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--check", "/hello/"], project_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "devserver: ready url=http://127.0.0.1:" in result.stdout


def test_check_paths_must_be_url_paths(project_env: dict[str, str]) -> None:
    result = run_devrun(["--check", "hello/"], project_env)
    assert result.returncode == 2
    assert "is not a URL path" in result.stderr


def test_check_strict_needs_check(project_env: dict[str, str]) -> None:
    result = run_devrun(["127.0.0.1:0", "--noreload", "--check-strict"], project_env)
    assert result.returncode == 2
    assert "--check-strict only makes sense with --check" in result.stderr


def test_check_does_not_start_the_reloader(project_env: dict[str, str]) -> None:
    """Without --noreload, the one-shot check still runs in a single process and exits."""
    result = run_devrun(["--check", "/hello/"], {**project_env, "RUN_MAIN": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("devserver: ready") == 1
    assert "Watching for file changes" not in result.stdout + result.stderr
