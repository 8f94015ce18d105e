"""The ASGI gateway end to end: ``testproject.asgi_cases`` served by the real command (asyncio backend).

The cases break the rules on purpose; each test checks what the client gets, whether the
connection is cut or kept, and what the server log says.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import ServerFactory
from ..server import DevrunProcess, run_devrun
from .rawclient import RawClient, RawResponse, build_request, chunked, get

CASES = {"TESTPROJECT_ASGI": "1", "TESTPROJECT_ASGI_APPLICATION": "testproject.asgi_cases.application"}
LOG_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def cases(start_server: ServerFactory) -> Iterator[DevrunProcess]:
    """``asgi_cases`` on the asyncio backend; keep-alive outlasts every deadline here, so a close
    the tests see is the gateway's."""
    env = {**CASES, "TESTPROJECT_DEVSERVER": json.dumps({"KEEP_ALIVE_TIMEOUT": 60})}
    server = start_server("--backend", "asyncio", "--nostatic", env=env)
    yield server
    server.stop()


def logged(server: DevrunProcess, text: str, first_line: int) -> str:
    return server.wait_for_line(lambda line: text in line, LOG_TIMEOUT, start=first_line)


def described(response: RawResponse) -> dict[str, Any]:
    assert response.status == 200, response.body[:500]
    result: dict[str, Any] = json.loads(response.body)
    return result


def assert_still_serving(server: DevrunProcess) -> None:
    response = get(server, "/response/pieces?pieces=1")
    assert (response.status, response.body) == (200, b"piece 0\n")


# -- the scope -----------------------------------------------------------------------------


def test_http_scope_has_every_key(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/sc%6Fpe?a=1&b=%C3%A9", [("X-Tag", "one"), ("X_Spoofed", "no"), ("X-Tag", "two")])
        scope = described(client.read_response())
        client_port = client.sock.getsockname()[1]
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/scope"  # percent-decoded
    assert scope["raw_path"] == {"bytes": "/sc%6Fpe"}  # as received
    assert scope["query_string"] == {"bytes": "a=1&b=%C3%A9"}
    assert scope["root_path"] == ""
    assert scope["client"] == ["127.0.0.1", client_port]
    assert scope["server"] == ["127.0.0.1", cases.port]
    assert scope["types"] == {"client": "tuple", "server": "tuple"}
    assert scope["state"] == {"started": "yes"}  # what lifespan startup put there
    headers = [(name["bytes"], value["bytes"]) for name, value in scope["headers"]]
    assert ("host", "127.0.0.1") in headers
    assert [value for name, value in headers if name == "x-tag"] == ["one", "two"]  # lowercased, in order
    assert not [name for name, _ in headers if "spoofed" in name]  # underscores dropped, as runserver does


def test_http10_request_has_http_version_1_0(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/scope", version="HTTP/1.0")
        assert described(client.read_response())["http_version"] == "1.0"


def test_path_with_utf8_escapes_is_decoded(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/%E2%98%83")  # no case there: the 404 names the decoded path
        response = client.read_response()
    assert response.status == 404
    assert response.body.decode() == "no case at /\u2603"


# -- the request body ----------------------------------------------------------------------


def test_request_body_reaches_the_application_in_pieces(cases: DevrunProcess) -> None:
    body = os.urandom(2_000_000)
    with RawClient.to(cases) as client:
        client.request("POST", "/body/pieces", [("Content-Type", "application/octet-stream")], body)
        result = described(client.read_response())
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert sum(result["sizes"]) == len(body)
    assert len(result["sizes"]) > 1, "the body should be handed over as it arrives, not whole"
    assert max(result["sizes"]) <= 512 * 1024


def test_chunked_request_body_is_received_as_it_comes(cases: DevrunProcess) -> None:
    pieces = [b"a" * 10, b"b" * 70_000, b"c"]
    with RawClient.to(cases) as client:
        client.request("POST", "/body/pieces", [("Transfer-Encoding", "chunked")], chunked(*pieces))
        result = described(client.read_response())
        client.request("GET", "/response/pieces?pieces=1")  # the connection is still usable
        assert client.read_response().body == b"piece 0\n"
    assert result["sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_body_the_application_does_not_read_yet_holds_the_client_back(cases: DevrunProcess) -> None:
    """Back-pressure: while the application waits, the server stops reading, so the client's
    sends stall long before a 64 MB body is through; once it reads, everything arrives."""
    body = b"x" * (64 * 1024 * 1024)
    first_line = len(cases.lines)
    sent = [0]
    with RawClient.to(cases, timeout=60) as client:
        client.send(build_request("POST", "/body/later?seconds=4", [("Content-Length", str(len(body)))]))
        logged(cases, "body later: waiting before reading", first_line)

        def upload() -> None:
            view = memoryview(body)
            while sent[0] < len(body):
                sent[0] += client.sock.send(view[sent[0] : sent[0] + 65536])

        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        stalled_at = _wait_for_stall(sent, deadline=time.monotonic() + 3)
        assert stalled_at < len(body) // 2, f"the server took {stalled_at} bytes before the application read any"
        logged(cases, "body later: reading now", first_line)
        result = described(client.read_response())
        thread.join(30)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()


def _wait_for_stall(sent: list[int], deadline: float) -> int:
    """The byte count once it has not moved for half a second (or at the deadline)."""
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if sent[0] != last:
            last, since = sent[0], time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
        time.sleep(0.05)  # polling a counter; the assertion is on its value, not on time
    return sent[0]


def test_application_working_between_body_reads_is_not_timed_out(start_server: ServerFactory) -> None:
    """HEADER_TIMEOUT bounds the wait for body bytes the application asked for, not its own work."""
    server = start_server("--backend", "asyncio", env={**CASES, "TESTPROJECT_DEVSERVER": '{"HEADER_TIMEOUT": 1}'})
    first_line = len(server.lines)
    with RawClient.to(server) as client:
        client.send(build_request("POST", "/body/pause?seconds=2.5", [("Content-Length", "10")]))
        logged(server, "body pause: waiting for the body", first_line)
        client.send(b"12345")
        logged(server, "body pause: got 5 bytes, working", first_line)
        client.send(b"67890")
        response = client.read_response()
    assert (response.status, response.body) == (200, b"10")
    server.stop()


def test_expect_continue_is_answered_when_the_application_receives(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("POST", "/body/pieces", [("Expect", "100-continue"), ("Content-Length", "5")])
        assert client.read_head().status == 100
        client.send(b"hello")
        assert described(client.read_response())["sha256"] == hashlib.sha256(b"hello").hexdigest()


# -- the response ----------------------------------------------------------------------------


def test_streamed_response_arrives_piece_by_piece(cases: DevrunProcess) -> None:
    with RawClient.to(cases, timeout=20) as client:
        client.request("GET", "/response/pieces?pieces=3&delay=0.5")
        head = client.read_head()
        assert head.header("Transfer-Encoding") == "chunked"
        arrivals = []
        while chunk := client.read_chunk():
            arrivals.append((chunk, time.monotonic()))
    assert [chunk for chunk, _ in arrivals] == [b"piece 0\n", b"piece 1\n", b"piece 2\n"]
    assert arrivals[-1][1] - arrivals[0][1] >= 0.5  # not buffered until the end


def test_head_gets_the_headers_and_no_body(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.send(build_request("HEAD", "/response/pieces") + build_request("GET", "/response/pieces?pieces=1"))
        head = client.read_response("HEAD")
        after = client.read_response()
    assert head.status == 200
    assert head.body == b""
    assert after.body == b"piece 0\n"  # nothing of the HEAD body came before it


def test_endless_stream_learns_the_client_went_away(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    with socket.create_connection((cases.host, cases.port), timeout=10) as client:
        client.sendall(build_request("GET", "/until-disconnect"))
        assert b"data: tick 0" in client.recv(65536)
    line = logged(cases, "until disconnect:", first_line)
    assert "http.disconnect" in line


# -- applications that break the rules -----------------------------------------------------

FAILURES_BEFORE_ANY_BYTE = {
    "/bad/no-response": "returned without sending a response",
    "/bad/start-twice": "'http.response.start' sent twice",
    "/bad/status-str": "Invalid status '200'",
    "/bad/header-str": "Invalid header name 'content-type'",
    "/bad/header-crlf": "Invalid value for header b'x-bad'",
    "/bad/body-str": "'body' must be bytes, not str",
    "/bad/unknown-message": "Unexpected ASGI message type 'http.response.begin'",
    "/bad/raise-before-start": "Exception in ASGI application",
}


@pytest.mark.parametrize(("path", "logged_text"), FAILURES_BEFORE_ANY_BYTE.items(), ids=list(FAILURES_BEFORE_ANY_BYTE))
def test_failure_before_the_response_gets_500_and_is_logged(cases: DevrunProcess, path: str, logged_text: str) -> None:
    first_line = len(cases.lines)
    with RawClient.to(cases) as client:
        client.request("GET", path)
        response = client.read_response()
        assert response.status == 500
        assert b"must not be sent" not in response.body
        assert response.closes
        client.assert_closed()
    logged(cases, logged_text, first_line)
    logged(cases, f'"GET {path} HTTP/1.1" 500', first_line)
    assert_still_serving(cases)


@pytest.mark.parametrize("path", ["/bad/raise-mid-body", "/bad/return-mid-body"])
def test_failure_mid_body_cuts_the_connection(cases: DevrunProcess, path: str) -> None:
    first_line = len(cases.lines)
    with RawClient.to(cases) as client:
        client.request("GET", path)
        response = client.read_response()
        assert response.status == 200
        assert response.framing == "chunked"
        assert not response.complete  # no last chunk: the client can tell the body is cut short
        assert response.body == b"first piece\n"
    text = "raised in the middle of the body" if "raise" in path else "returned without sending the whole response"
    logged(cases, text, first_line)
    assert_still_serving(cases)


def test_body_after_the_end_raises_in_the_application_and_the_response_stands(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    response = get(cases, "/bad/body-after-end")
    assert (response.status, response.body) == (200, b"complete")
    logged(cases, "body after end: InvalidMessageError: 'http.response.body' sent after the response", first_line)
    assert_still_serving(cases)


def test_more_body_than_declared_is_cut_to_the_declared_length(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/length/too-much")
        response = client.read_response()
        assert (response.header("Content-Length"), response.body) == ("5", b"01234")
        client.assert_closed()


def test_less_body_than_declared_closes_the_connection(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/length/too-little")
        head = client.read_head()
        assert head.header("Content-Length") == "10"
        assert client.read_to_eof() == b"01234"


# -- lifespan --------------------------------------------------------------------------------


def test_lifespan_startup_failure_is_one_line_and_exit_1(project_env: dict[str, str]) -> None:
    env = {**project_env, **CASES, "ASGI_CASES_LIFESPAN": "fail"}
    result = run_devrun(["127.0.0.1:0", "--noreload", "--backend", "asyncio"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = result.stderr.strip().splitlines()
    assert errors == [
        "Error: The ASGI application failed to start (lifespan.startup.failed): the database is unreachable"
    ]
    assert "devserver: ready" not in result.stdout


def test_lifespan_unsupported_is_tolerated(start_server: ServerFactory) -> None:
    server = start_server("--backend", "asyncio", env={**CASES, "ASGI_CASES_LIFESPAN": "unsupported"})
    assert described(get(server, "/scope"))["state"] == {}
    assert server.stop() == 0
    assert "Traceback" not in server.output()


def test_lifespan_shutdown_runs_at_stop(start_server: ServerFactory) -> None:
    server = start_server("--backend", "asyncio", env=CASES)
    server.wait_for_line(lambda line: "asgi_cases: lifespan startup" in line, LOG_TIMEOUT)
    assert server.stop() == 0
    assert "asgi_cases: lifespan shutdown" in server.output()
