"""The ``--check`` runner's parts: pass rules, excerpts, the report and the verdict."""

from __future__ import annotations

import socket

import pytest

from devserver.smoke import CheckResult, SmokeCheck, excerpt, html_text, report_lines, request_once, verdict

OK = CheckResult("/", 200, "OK", 0.012, 944)
MOVED = CheckResult("/old/", 302, "Found", 0.002, 0)
MISSING = CheckResult("/nope/", 404, "Not Found", 0.004, 4726)
BROKEN = CheckResult("/error/", 500, "Internal Server Error", 0.015, 53128, ("RuntimeError at /error/", "boom"))
REFUSED = CheckResult("/", None, "ConnectionRefusedError: refused", 0.001, 0, ("ConnectionRefusedError: refused",))


@pytest.mark.parametrize(
    ("result", "default", "strict"),
    [(OK, True, True), (MOVED, True, True), (MISSING, True, False), (BROKEN, False, False), (REFUSED, False, False)],
)
def test_pass_rules(result: CheckResult, default: bool, strict: bool) -> None:
    assert (result.passed(strict=False), result.passed(strict=True)) == (default, strict)


def test_verdict_is_zero_only_when_all_expected_paths_pass() -> None:
    assert verdict([OK, MISSING], 2, strict=False) == 0
    assert verdict([OK, MISSING], 2, strict=True) == 1
    assert verdict([OK, BROKEN], 2, strict=False) == 1
    assert verdict([OK], 2, strict=False) == 1  # interrupted before the second path


def test_report_has_a_row_per_path_and_the_failures_first_lines() -> None:
    lines = report_lines([OK, BROKEN], 2, strict=False)
    assert lines[0].split() == ["STATUS", "TIME", "SIZE", "PATH"]
    assert lines[1].split() == ["200", "12", "ms", "944", "B", "/"]
    assert lines[2].split() == ["500", "15", "ms", "51.9", "KiB", "/error/", "FAIL"]
    assert "FAIL /error/: 500 Internal Server Error" in lines
    assert "    boom" in lines
    assert lines[-1] == "Check failed: 1 of 2 paths failed (pass: status below 500)."


def test_report_of_a_passing_check() -> None:
    assert report_lines([OK, MOVED], 2, strict=True)[-1] == "Check passed: 2 paths (pass: status 2xx or 3xx)."


def test_report_says_when_the_check_was_interrupted() -> None:
    assert report_lines([OK], 3, strict=False)[-1] == (
        "Check failed: 2 not requested (interrupted) (pass: status below 500)."
    )


def test_excerpt_of_plain_text_keeps_the_first_non_blank_lines() -> None:
    body = b"\n".join(f"line {number}".encode() for number in range(20))
    assert excerpt(b"\n\n" + body, "text/plain") == tuple(f"line {number}" for number in range(8))


def test_excerpt_of_html_is_its_visible_text() -> None:
    page = (
        b"<html><head><title>RuntimeError at /error/</title><style>body { color: red }</style>"
        b"<script>var x = 1;</script></head><body><h1>RuntimeError\n  <span>at /error/</span></h1>"
        b"<pre class='exception_value'>boom &amp; more</pre>"
        b"<table><tr><th>Request Method:</th>\n<td>GET</td></tr></table></body></html>"
    )
    assert excerpt(page, "text/html; charset=utf-8") == (
        "RuntimeError at /error/",
        "boom & more",
        "Request Method: GET",
    )


def test_html_text_skips_nested_hidden_elements() -> None:
    assert html_text("<p>shown</p><noscript><style>x</style>hidden</noscript><p>too</p>").split() == ["shown", "too"]


def test_request_to_a_closed_port_is_a_failure_without_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = request_once("127.0.0.1", port, "/", timeout=5)
    assert result.status is None
    assert not result.passed(strict=False)
    assert "Refused" in result.reason


def test_cancelled_check_requests_nothing_more() -> None:
    check = SmokeCheck(["/a/", "/b/"], "127.0.0.1", 9)
    check.finish()
    assert check.run() == []
    assert not check.complete
