"""``devrun --check``: request a few paths once on the real socket, then stop with a verdict.

The requests go through the real listener, backend and gateway, so a CI job learns what a
browser would: that the project starts, its checks pass and its pages render. The runner is
a thread beside the serving loop; when it is done it asks the backend to stop, and the
command exits with :func:`verdict`.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

from .errors import EXIT_CHECK_FAILED, EXIT_OK

#: How long one path may take, from connecting to the last byte of the body.
REQUEST_TIMEOUT: Final = 30.0
EXCERPT_LINES: Final = 8
EXCERPT_WIDTH: Final = 160
_READ_SIZE: Final = 64 * 1024
_HEADERS: Final = {"Accept": "text/html,*/*;q=0.8", "User-Agent": "devserver-check", "Connection": "close"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One path's outcome; ``status`` is ``None`` when no complete response arrived."""

    path: str
    status: int | None
    reason: str
    seconds: float
    size: int
    excerpt: tuple[str, ...] = ()

    def passed(self, *, strict: bool) -> bool:
        if self.status is None:
            return False
        return 200 <= self.status < 400 if strict else self.status < 500


def pass_rule(*, strict: bool) -> str:
    return "status 2xx or 3xx" if strict else "status below 500"


def request_once(
    host: str, port: int, path: str, timeout: float = REQUEST_TIMEOUT, *, tls: ssl.SSLContext | None = None
) -> CheckResult:
    """GET ``path`` and read the whole body within ``timeout`` seconds (over HTTPS with ``tls``)."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    connection = (
        http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
        if tls is not None
        else http.client.HTTPConnection(host, port, timeout=timeout)
    )
    try:
        connection.request("GET", path, headers=_HEADERS)
        response = connection.getresponse()
        body = bytearray()
        while chunk := response.read1(_READ_SIZE):
            body += chunk
            if time.monotonic() > deadline:
                raise TimeoutError(f"the body did not end within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return CheckResult(path, None, _describe(error), time.perf_counter() - started, 0, (_describe(error),))
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    content_type = response.getheader("Content-Type", "")
    return CheckResult(path, response.status, response.reason, seconds, len(body), excerpt(bytes(body), content_type))


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError) and not str(error):
        return "timed out"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def excerpt(body: bytes, content_type: str) -> tuple[str, ...]:
    """The first lines of a body as readable text (HTML is reduced to its text)."""
    text = body.decode("utf-8", "replace")
    if "html" in content_type.lower():
        text = html_text(text)
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line and (not lines or lines[-1] != line):
            lines.append(line[:EXCERPT_WIDTH])
        if len(lines) == EXCERPT_LINES:
            break
    return tuple(lines)


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document: a line per block element, inline text joined."""

    _HIDDEN: Final = frozenset({"script", "style", "template", "noscript"})
    _BLOCKS: Final = frozenset(
        {"title", "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "pre", "li", "tr", "br", "table", "section"}
        | {"header", "footer", "main", "article", "ul", "ol", "dl", "dt", "dd", "blockquote", "form", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(self._hidden_depth - 1, 0)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(re.sub(r"\s+", " ", data))  # inline text: newlines in the markup are spaces


def html_text(markup: str) -> str:
    """The text a reader would see, one line per block element."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


class SmokeCheck:
    """Requests each path once, one after the other, on a thread beside the serving loop."""

    def __init__(
        self,
        paths: Sequence[str],
        host: str,
        port: int,
        *,
        timeout: float = REQUEST_TIMEOUT,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: a client context when the server speaks HTTPS (it verifies the certificate:
        a server serving one that does not load fails the check)."""
        self.paths = tuple(paths)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.tls = tls
        self.results: list[CheckResult] = []
        self._cancelled = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> list[CheckResult]:
        """Request every path (unless cancelled) and return the results."""
        for path in self.paths:
            if self._cancelled.is_set():
                break
            self.results.append(request_once(self.host, self.port, path, self.timeout, tls=self.tls))
        return self.results

    def start(self, when_done: Callable[[], None]) -> None:
        """Run on a thread, then call ``when_done`` (the backend's ``shutdown``)."""

        def target() -> None:
            try:
                self.run()
            finally:
                when_done()

        self._thread = threading.Thread(target=target, name="devserver check", daemon=True)
        self._thread.start()

    def finish(self) -> list[CheckResult]:
        """Called once serving has stopped: no new requests; wait for the one in flight."""
        self._cancelled.set()
        if self._thread is not None:
            self._thread.join(self.timeout)
        return list(self.results)

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.paths)


def verdict(results: Sequence[CheckResult], expected: int, *, strict: bool) -> int:
    """0 when every expected path answered and passed; 1 otherwise."""
    if len(results) < expected or not all(result.passed(strict=strict) for result in results):
        return EXIT_CHECK_FAILED
    return EXIT_OK


def report_lines(results: Sequence[CheckResult], expected: int, *, strict: bool) -> list[str]:
    """The table, each failure's first lines, and a one-line verdict."""
    lines = [f"{'STATUS':>6}  {'TIME':>8}  {'SIZE':>9}  PATH"]
    for result in results:
        status = str(result.status) if result.status is not None else "---"
        mark = "" if result.passed(strict=strict) else "  FAIL"
        lines.append(f"{status:>6}  {_milliseconds(result.seconds):>8}  {_size(result):>9}  {result.path}{mark}")
    failures = [result for result in results if not result.passed(strict=strict)]
    for result in failures:
        lines.append("")
        outcome = f"{result.status} {result.reason}" if result.status is not None else result.reason
        lines.append(f"FAIL {result.path}: {outcome}")
        lines.extend(f"    {line}" for line in result.excerpt)
    lines.append("")
    rule = pass_rule(strict=strict)
    missing = expected - len(results)
    if failures or missing:
        problems = [f"{len(failures)} of {expected} paths failed"] if failures else []
        if missing:
            problems.append(f"{missing} not requested (interrupted)")
        lines.append(f"Check failed: {', '.join(problems)} (pass: {rule}).")
    else:
        lines.append(f"Check passed: {expected} paths (pass: {rule}).")
    return lines


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _size(result: CheckResult) -> str:
    if result.status is None:
        return "-"
    if result.size < 1024:
        return f"{result.size} B"
    return f"{result.size / 1024:.1f} KiB"
