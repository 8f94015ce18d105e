"""PEP 3333 end to end: the gateway serving ``testproject.wsgi_cases`` on every backend.

The cases break the rules on purpose; each test checks what the client gets, that the
connection is cut or kept as it must be, and what the server log says.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..server import ASGI_BACKENDS, REPO, DevrunProcess
from .rawclient import RawClient, RawResponse, build_request, chunked, get

ServerFactory = Callable[..., DevrunProcess]

SAMPLE_FILE = REPO / "testproject" / "shop" / "files" / "sample.txt"
#: What each backend tells the application in ``wsgi.multithread``.
MULTITHREAD = {"threaded": True, "single": False}
LOG_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def cases(start_server: ServerFactory, backend_name: str) -> Iterator[DevrunProcess]:
    """A server for ``testproject.wsgi_cases`` (without the static files wrapper).

    Its keep-alive timeout outlasts every deadline here, so a close the tests see is the gateway's.
    """
    if backend_name in ASGI_BACKENDS:
        pytest.skip(f"PEP 3333 cases; the {backend_name} backend serves ASGI (see test_asgi_gateway.py)")
    env = {
        "TESTPROJECT_WSGI_APPLICATION": "testproject.wsgi_cases.application",
        "TESTPROJECT_DEVSERVER": json.dumps({"KEEP_ALIVE_TIMEOUT": 60}),
    }
    server = start_server("--backend", backend_name, "--nostatic", env=env)
    yield server
    server.stop()


def logged(server: DevrunProcess, text: str, first_line: int) -> str:
    """The first log line from ``first_line`` on containing ``text`` (waits for it)."""
    return server.wait_for_line(lambda line: text in line, LOG_TIMEOUT, start=first_line)


def exchange(server: DevrunProcess, target: str, *, closes: bool = False) -> tuple[RawResponse, bytes]:
    """One GET; with ``closes``, also wait for the server to close and return what came first."""
    with RawClient.to(server) as client:
        client.request("GET", target)
        response = client.read_response()
        rest = client.read_to_eof() if closes else b""
    return response, rest


def environ_of(response: RawResponse) -> dict[str, Any]:
    assert response.status == 200, response.body[:500]
    result: dict[str, Any] = json.loads(response.body)
    return result


# -- wsgiref.validate ----------------------------------------------------------------------

LINES = b"".join(b"line %d\n" % i for i in range(2000)) + b"\r\n\n\nno newline at the end"
READ_MODES = ["read", "readline", "readline-sized", "readlines", "iterate"]


def validated_requests() -> list[tuple[bytes, str, int, bytes | None]]:
    """(request, method, status, expected body or None) for the validator run."""
    summary = f"{len(LINES)} {hashlib.sha256(LINES).hexdigest()}".encode()
    requests: list[tuple[bytes, str, int, bytes | None]] = [
        (build_request("GET", "/validated/plain?x=1"), "GET", 200, b"GET /validated/plain"),
        (build_request("HEAD", "/validated/plain"), "HEAD", 200, b""),
        (build_request("GET", "/validated/stream"), "GET", 200, b"one two three"),
        (build_request("GET", "/validated/write"), "GET", 200, b"written and returned"),
        (build_request("GET", "/validated/empty"), "GET", 204, b""),
        (build_request("POST", "/validated/post?read", [("Content-Length", "0")]), "POST", 200, None),
    ]
    for mode in READ_MODES:
        requests.append((build_request("POST", f"/validated/post?{mode}", body=LINES), "POST", 200, summary))
        chunked_body = chunked(LINES[:1000], LINES[1000:1001], LINES[1001:])
        headers = [("Transfer-Encoding", "chunked")]
        requests.append((build_request("POST", f"/validated/post?{mode}", headers, chunked_body), "POST", 200, summary))
    return requests


def test_wsgiref_validator_finds_nothing_wrong(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    with RawClient.to(cases) as client:
        for request, method, status, body in validated_requests():
            client.send(request)
            response = client.read_response(method)
            assert response.status == status, (request[:60], response.body[:500])
            if body is not None:
                assert response.body == body, request[:60]
        client.request("GET", "/validated/last")
        assert client.read_response().status == 200
    logged(cases, "/validated/last", first_line)  # every earlier request is logged by now
    log = "\n".join(cases.lines[first_line:])
    assert "AssertionError" not in log
    assert "WSGIWarning" not in log
    assert "Traceback" not in log


def test_wsgiref_validator_is_watching(cases: DevrunProcess) -> None:
    """The check above means something only if a broken request does make the validator object."""
    first_line = len(cases.lines)
    response, _ = exchange(cases, "/validated/self-check", closes=True)
    assert response.status == 500
    logged(cases, "AssertionError", first_line)


# -- write() and exc_info ------------------------------------------------------------------


def test_write_callable_output_comes_before_the_returned_iterable(cases: DevrunProcess) -> None:
    response, _ = exchange(cases, "/write")
    assert response.status == 200
    assert response.body == b"written-1 written-2 returned"


def test_exc_info_before_the_head_is_sent_replaces_the_response(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/exc-info/before-headers")
        replaced = client.read_response()
        client.request("GET", "/write")
        after = client.read_response()
    assert replaced.status == 503
    assert replaced.body == b"replaced"
    assert replaced.header("X-Discarded") is None
    assert not replaced.closes
    assert after.body == b"written-1 written-2 returned"


def test_exc_info_after_the_head_is_sent_cuts_the_connection(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    response, rest = exchange(cases, "/exc-info/after-headers", closes=True)
    assert response.status == 200
    assert response.framing == "chunked"
    assert not response.complete
    assert response.body == b"first piece\n"
    assert rest == b""
    logged(cases, "failure after the headers", first_line)


# -- application errors --------------------------------------------------------------------


def test_exception_before_the_head_gets_500_and_a_log_line(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    response, rest = exchange(cases, "/raise/before-headers", closes=True)
    assert response.status == 500
    assert response.closes
    assert rest == b""
    logged(cases, "Error handling request GET /raise/before-headers", first_line)
    logged(cases, "RuntimeError: wsgi_cases: raised before the headers", first_line)


def test_exception_in_the_iterator_cuts_the_connection_without_a_last_chunk(cases: DevrunProcess) -> None:
    first_line = len(cases.lines)
    response, rest = exchange(cases, "/raise/in-iterator", closes=True)
    assert response.status == 200
    assert response.framing == "chunked"
    assert not response.complete
    assert response.body == b"first piece\n"
    assert rest == b""
    logged(cases, "RuntimeError: wsgi_cases: raised in the iterator", first_line)


@pytest.mark.parametrize(
    ("path", "log_text"),
    [
        ("/status/short-code", "Invalid status '20 OK'"),
        ("/status/crlf", "Invalid status '200 OK\\r\\nX-Injected: yes'"),
        ("/header/crlf", "Invalid value for header 'X-Bad'"),
        ("/header/non-latin-1", "Invalid value for header 'X-Bad'"),
        ("/body/str", "yielded str, not bytes"),
        ("/no-start-response", "without calling start_response()"),
    ],
)
def test_invalid_response_gets_500_and_a_log_line_naming_it(cases: DevrunProcess, path: str, log_text: str) -> None:
    first_line = len(cases.lines)
    response, rest = exchange(cases, path, closes=True)
    assert response.status == 500
    assert response.closes
    assert response.header("X-Injected") is None
    assert b"must not be sent" not in response.body + rest
    line = logged(cases, log_text, first_line)
    assert path in line


# -- close() -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/close/ok", 200, b"closing body"),
        ("/close/raise-before-body", 500, None),
        ("/close/raise-mid-body", 200, b"closing "),
    ],
)
def test_close_of_the_result_is_always_called(cases: DevrunProcess, path: str, status: int, body: bytes | None) -> None:
    token = uuid.uuid4().hex
    first_line = len(cases.lines)
    response, _ = exchange(cases, f"{path}?{token}")
    assert response.status == status
    if body is not None:
        assert response.body == body
    logged(cases, f"close() called for {token}", first_line)


# -- wsgi.input ----------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_input_ends_with_empty_reads_and_never_reads_past_the_body(cases: DevrunProcess, framing: str) -> None:
    if framing == "chunked":
        post = build_request("POST", "/input/end", [("Transfer-Encoding", "chunked")], chunked(b"hel", b"lo"))
    else:
        post = build_request("POST", "/input/end", body=b"hello")
    with RawClient.to(cases) as client:
        client.send(post + build_request("GET", "/environ/next?after=post"))
        first, second = client.read_response(), client.read_response()
    assert json.loads(first.body) == {"body": "hello", "after": ["", "", "", ""]}
    assert environ_of(second)["PATH_INFO"] == "/environ/next"
    assert environ_of(second)["QUERY_STRING"] == "after=post"


def test_unread_rest_of_the_body_is_skipped_before_the_next_request(cases: DevrunProcess) -> None:
    post = build_request("POST", "/input/partial", body=b"abcdefgh" * 1000)
    with RawClient.to(cases) as client:
        client.send(post + build_request("GET", "/environ/next"))
        first, second = client.read_response(), client.read_response()
    assert first.body == b"ab"
    assert environ_of(second)["PATH_INFO"] == "/environ/next"


# -- environ -------------------------------------------------------------------------------


def test_environ_holds_the_cgi_and_wsgi_keys(cases: DevrunProcess, backend_name: str) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/environ/caf%C3%A9?a=%20b&c=d+e", [("X-Custom", "custom value")])
        environ = environ_of(client.read_response())
        local_port = client.sock.getsockname()[1]
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/environ/caf\xc3\xa9"  # latin-1 decoded from the percent-decoded bytes
    assert environ["QUERY_STRING"] == "a=%20b&c=d+e"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(cases.port)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"] == str(local_port)
    assert environ["CONTENT_TYPE"] == ""
    assert environ["CONTENT_LENGTH"] == ""
    assert environ["HTTP_X_CUSTOM"] == "custom value"
    assert environ["HTTP_HOST"] == "127.0.0.1"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.url_scheme"] == ("https" if cases.tls else "http")  # over HTTPS: https/test_gateway
    assert environ.get("HTTPS") == ("on" if cases.tls else None)
    assert environ["wsgi.multithread"] is MULTITHREAD[backend_name]
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.file_wrapper callable"] is True
    assert "wsgi.errors" in environ
    assert "wsgi.input" in environ


def test_environ_describes_the_body(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("POST", "/environ/", [("Content-Type", "application/x-test")], b"hello")
        plain = environ_of(client.read_response())
        client.request("POST", "/environ/", [("Transfer-Encoding", "chunked")], chunked(b"hel", b"lo!"))
        with_chunks = environ_of(client.read_response())
    assert (plain["CONTENT_TYPE"], plain["CONTENT_LENGTH"]) == ("application/x-test", "5")
    assert "HTTP_CONTENT_TYPE" not in plain
    assert "HTTP_CONTENT_LENGTH" not in plain
    assert with_chunks["wsgi.input_terminated"] is True
    assert with_chunks["CONTENT_LENGTH"] == "6"  # Django reads no body without it


# -- framing decided by the gateway --------------------------------------------------------


def test_204_is_sent_without_the_body_the_application_gave(cases: DevrunProcess) -> None:
    with RawClient.to(cases) as client:
        client.request("GET", "/no-content")
        empty = client.read_response()
        client.request("GET", "/write")
        after = client.read_response()  # a stray body would corrupt this response
    assert empty.status == 204
    assert empty.header("Content-Length") is None
    assert empty.header("Transfer-Encoding") is None
    assert after.body == b"written-1 written-2 returned"


def test_body_longer_than_its_content_length_is_cut_and_the_connection_closed(cases: DevrunProcess) -> None:
    response, rest = exchange(cases, "/length/too-much", closes=True)
    assert response.body == b"01234"
    assert rest == b""


@pytest.mark.parametrize(("path", "body"), [("/length/too-little", b"01234"), ("/length/none-of-it", b"")])
def test_body_shorter_than_its_content_length_ends_the_connection(cases: DevrunProcess, path: str, body: bytes) -> None:
    response, rest = exchange(cases, path, closes=True)
    assert response.body == body
    assert not response.complete
    assert rest == b""


@pytest.mark.parametrize(
    ("query", "start", "framing"),
    [("", 0, "content-length"), ("offset=1000", 1000, "content-length"), ("length=no", 0, "chunked")],
)
def test_file_wrapper_sends_the_file_byte_for_byte(cases: DevrunProcess, query: str, start: int, framing: str) -> None:
    expected = SAMPLE_FILE.read_bytes()[start:]
    with RawClient.to(cases) as client:
        client.request("GET", f"/file-wrapper?{query}")
        response = client.read_response()
        client.request("HEAD", f"/file-wrapper?{query}")
        head = client.read_response("HEAD")
        client.request("GET", "/write")
        after = client.read_response()  # a stray body would corrupt this response
    assert response.framing == framing
    assert response.body == expected
    assert head.status == 200
    assert head.body == b""
    assert after.body == b"written-1 written-2 returned"


def test_server_still_serves_after_every_case(cases: DevrunProcess) -> None:
    assert get(cases, "/write").body == b"written-1 written-2 returned"
