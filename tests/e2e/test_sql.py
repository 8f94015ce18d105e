"""Each request's SQL on its access line, on the real server: counts per request under
concurrency and streaming, the N+1 warning, ``--print-sql``, and when it is off.
"""

from __future__ import annotations

import json
import re
import threading
import uuid

import pytest

from ..conftest import ServerFactory
from ..server import DevrunProcess, fetch

N_PLUS_ONE = re.compile(r'Likely N\+1: (\d+) queries in "GET /orders/\?naive=1 HTTP/1\.1" ran the same SQL')


def access_line(server: DevrunProcess, path: str, start: int = 0) -> str:
    return server.wait_for_line(lambda line: f'"GET {path} HTTP/1.1"' in line, 10, start=start)


def queries_on(line: str) -> tuple[int, float] | None:
    """The ``23q 12.5ms`` ending an access line, or None."""
    match = re.search(r" \d+(?:\.\d+)?ms (\d+)q (\d+\.\d)ms$", line)
    return (int(match.group(1)), float(match.group(2))) if match else None


def get(server: DevrunProcess, path: str) -> bytes:
    status, body = fetch(server.host, server.port, path)
    assert status == 200, body[:500]
    return body


@pytest.fixture(scope="module")
def threaded(start_server: ServerFactory) -> DevrunProcess:
    return start_server("--backend", "threaded")


def test_the_access_line_shows_the_request_s_queries(server: DevrunProcess) -> None:
    start = len(server.lines)
    get(server, "/orders/")
    counted = queries_on(access_line(server, "/orders/", start))
    assert counted is not None
    assert counted[0] == 1


def test_a_request_without_queries_keeps_runserver_s_line(server: DevrunProcess) -> None:
    start = len(server.lines)
    get(server, "/hello/")
    assert access_line(server, "/hello/", start).endswith("ms")
    assert queries_on(access_line(server, "/hello/", start)) is None


def test_two_requests_at_once_each_count_only_their_own(threaded: DevrunProcess) -> None:
    """Both requests run half their queries, wait for each other, then run the rest."""
    meeting = uuid.uuid4().hex
    paths = {count: f"/queries/?count={count}&meet={meeting}" for count in (3, 8)}
    bodies: dict[int, bytes] = {}
    start = len(threaded.lines)

    def request(count: int) -> None:
        bodies[count] = get(threaded, paths[count])

    threads = [threading.Thread(target=request, args=(count,)) for count in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert bodies == {3: b"ran 3 queries\n", 8: b"ran 8 queries\n"}
    for count, path in paths.items():
        counted = queries_on(access_line(threaded, path, start))
        assert counted is not None
        assert counted[0] == count


def test_queries_run_while_a_response_streams_count(server: DevrunProcess) -> None:
    start = len(server.lines)
    assert get(server, "/queries/stream/?count=4").count(b"\n") == 4
    counted = queries_on(access_line(server, "/queries/stream/?count=4", start))
    assert counted is not None
    assert counted[0] == 4


def test_an_n_plus_one_loop_gets_one_warning_naming_the_statement(server: DevrunProcess) -> None:
    start = len(server.lines)
    assert get(server, "/orders/?naive=1").count(b"\n") == 20
    line = access_line(server, "/orders/?naive=1", start)
    counted = queries_on(line)
    assert counted is not None
    assert counted[0] == 21
    warning = server.wait_for_line(lambda text: N_PLUS_ONE.search(text) is not None, 10, start=start)
    match = N_PLUS_ONE.search(warning)
    assert match is not None
    assert match.group(1) == "20"
    assert warning.count("SELECT") == 1
    assert 'FROM "shop_customer"' in warning
    get(server, "/orders/")  # the same page with select_related: no warning
    access_line(server, "/orders/", start)
    assert len([text for text in server.lines[start:] if "Likely N+1" in text]) == 1


def test_print_sql_prints_each_statement_formatted(start_server: ServerFactory) -> None:
    server = start_server("--print-sql")
    start = len(server.lines)
    get(server, "/orders/")
    access_line(server, "/orders/", start)
    printed = server.lines[start:]
    headers = [line for line in printed if re.search(r"\] SQL \d+\.\d\dms \(default\)$", line)]
    assert len(headers) == 1
    body = printed[printed.index(headers[0]) + 1 :]
    assert body[0].startswith("    SELECT ")
    assert any(line.strip().startswith('FROM "shop_order"') for line in body)
    assert any("INNER JOIN" in line for line in body)


@pytest.mark.parametrize(
    "env",
    [
        {"TESTPROJECT_DEVSERVER": json.dumps({"SQL_SUMMARY": False})},
        {"TESTPROJECT_DEBUG": "0", "TESTPROJECT_ALLOWED_HOSTS": "127.0.0.1"},
    ],
    ids=["setting-off", "debug-off"],
)
def test_the_summary_is_off_by_setting_or_without_debug(start_server: ServerFactory, env: dict[str, str]) -> None:
    server = start_server(env=env)
    start = len(server.lines)
    get(server, "/orders/?naive=1")
    line = access_line(server, "/orders/?naive=1", start)
    assert queries_on(line) is None
    assert line.endswith("ms")
    get(server, "/hello/")  # a later line: the N+1 warning would have come before it
    access_line(server, "/hello/", start)
    assert not any("Likely N+1" in text for text in server.lines[start:])


def test_the_n_plus_one_threshold_is_a_setting(start_server: ServerFactory) -> None:
    server = start_server(env={"TESTPROJECT_DEVSERVER": json.dumps({"SQL_N_PLUS_ONE": 21})})
    start = len(server.lines)
    get(server, "/orders/?naive=1")
    assert queries_on(access_line(server, "/orders/?naive=1", start)) is not None
    get(server, "/hello/")
    access_line(server, "/hello/", start)
    assert not any("Likely N+1" in text for text in server.lines[start:])
