"""The gateway without sockets: a fake transport records every send, so the tests see exactly
what would go on the wire, and in how many calls.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from devserver.http.parser import Request, RequestParser
from devserver.wsgi.environ import Environ, base_environ
from devserver.wsgi.filewrapper import FileWrapper
from devserver.wsgi.gateway import ClientDisconnected, ResponseSummary, StartResponse, WSGIGateway
from devserver.wsgi.input import RequestBody

TEXT = ("Content-Type", "text/plain")
GET = b"GET /path HTTP/1.1\r\nHost: x\r\n\r\n"
HEAD = b"HEAD /path HTTP/1.1\r\nHost: x\r\n\r\n"
GET_10 = b"GET /path HTTP/1.0\r\n\r\n"


class RecordingTransport:
    """Keeps each ``send`` and ``sendfile`` call; ``fail_on_send`` makes that call (1-based) fail."""

    def __init__(self, fail_on_send: int | None = None) -> None:
        self.sends: list[tuple[bytes, bool]] = []
        self.sendfiles: list[tuple[int, int]] = []
        self.wire = b""
        self.fail_on_send = fail_on_send

    def send(self, data: bytes, *, more: bool = False) -> None:
        if self.fail_on_send == len(self.sends) + 1:
            raise ClientDisconnected("gone")
        self.sends.append((data, more))
        self.wire += data

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        self.sendfiles.append((offset, count))
        file.seek(offset)
        data = file.read(count)
        self.wire += data
        return len(data)

    @property
    def head(self) -> bytes:
        return self.wire.split(b"\r\n\r\n", 1)[0]

    @property
    def body(self) -> bytes:
        return self.wire.split(b"\r\n\r\n", 1)[1]

    def header_names(self) -> list[bytes]:
        return [line.split(b":", 1)[0].lower() for line in self.head.split(b"\r\n")[1:]]


class Result:
    """A response iterable that records whether the server closed it."""

    def __init__(self, pieces: Iterable[bytes], error: Exception | None = None) -> None:
        self.pieces = list(pieces)
        self.error = error
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed += 1


def parse_request(raw: bytes) -> Request:
    parser = RequestParser()
    parser.feed(raw)
    request = parser.next_event()
    assert isinstance(request, Request)
    return request


def serve(
    app: Any, raw: bytes = GET, transport: RecordingTransport | None = None, *, keep_alive: bool = True
) -> tuple[RecordingTransport, ResponseSummary]:
    transport = transport or RecordingTransport()
    gateway = WSGIGateway(app, base_environ(server_name="127.0.0.1", server_port=8000, multithread=True))
    request = parse_request(raw)
    summary = gateway.run(request, RequestBody(), transport, ("127.0.0.1", 5000), keep_alive=keep_alive)
    return transport, summary


def app_returning(result: Iterable[bytes], status: str = "200 OK", headers: list[tuple[str, str]] | None = None) -> Any:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, [TEXT] if headers is None else headers)
        return result

    return app


# -- sends ---------------------------------------------------------------------------------


def test_head_and_first_body_piece_go_out_in_one_send() -> None:
    transport, summary = serve(app_returning([b"hello"]))
    assert len(transport.sends) == 1
    assert transport.head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 5" in transport.head
    assert transport.body == b"hello"
    assert (summary.status, summary.body_bytes, summary.keep_alive) == (200, 5, True)


def test_streamed_body_is_chunked_with_the_head_in_the_first_send() -> None:
    transport, summary = serve(app_returning(iter([b"one", b"", b"three"])))
    assert [data for data, _ in transport.sends][1:] == [b"5\r\nthree\r\n", b"0\r\n\r\n"]
    assert transport.sends[0][0].endswith(b"\r\n\r\n3\r\none\r\n")
    assert b"Transfer-Encoding: chunked" in transport.head
    assert summary.body_bytes == 8
    assert summary.keep_alive


def test_head_waits_for_the_first_non_empty_piece() -> None:
    """PEP 3333: an exception before any body byte can still become a 500."""
    transport, summary = serve(app_returning(Result([b"", b""], RuntimeError("late"))))
    assert transport.wire.startswith(b"HTTP/1.1 500 ")
    assert summary.status == 500


def test_empty_body_gets_content_length_zero() -> None:
    transport, summary = serve(app_returning([]))
    assert b"Content-Length: 0" in transport.head
    assert transport.body == b""
    assert summary.keep_alive


def test_head_request_sends_the_length_but_no_body() -> None:
    transport, summary = serve(app_returning([b"hello"]), HEAD)
    assert b"Content-Length: 5" in transport.head
    assert transport.body == b""
    assert summary.body_bytes == 0
    assert summary.keep_alive


def test_204_drops_the_body_the_application_gave() -> None:
    transport, summary = serve(app_returning([b"oops"], "204 No Content", []))
    assert transport.wire.endswith(b"\r\n\r\n")
    assert b"content-length" not in transport.header_names()
    assert b"transfer-encoding" not in transport.header_names()
    assert summary.keep_alive


def test_unknown_length_on_http10_is_close_delimited() -> None:
    transport, summary = serve(app_returning(iter([b"a", b"b"])), GET_10, keep_alive=True)
    assert transport.head.startswith(b"HTTP/1.0 200 OK")
    assert b"Connection: close" in transport.head
    assert transport.body == b"ab"
    assert not summary.keep_alive


def test_date_and_server_are_added_unless_given() -> None:
    transport, _ = serve(app_returning([b"x"]))
    assert transport.header_names().count(b"date") == 1
    assert transport.header_names().count(b"server") == 1
    given = [TEXT, ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"), ("Server", "mine")]
    transport, _ = serve(app_returning([b"x"], headers=given))
    assert transport.header_names().count(b"date") == 1
    assert b"Server: mine" in transport.head


def test_connection_close_from_the_application_ends_the_connection() -> None:
    transport, summary = serve(app_returning([b"x"], headers=[TEXT, ("Connection", "close")]))
    assert transport.header_names().count(b"connection") == 1
    assert b"Connection: close" in transport.head
    assert not summary.keep_alive


def test_write_callable_sends_before_the_returned_iterable() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [TEXT])
        write(b"written ")
        return [b"returned"]

    transport, summary = serve(app)
    assert b"8\r\nwritten \r\n" in transport.sends[0][0]
    assert transport.body == b"8\r\nwritten \r\n8\r\nreturned\r\n0\r\n\r\n"
    assert summary.body_bytes == 16


def test_more_body_than_content_length_is_cut_and_the_connection_ends() -> None:
    transport, summary = serve(app_returning(iter([b"0123", b"456789"]), headers=[TEXT, ("Content-Length", "5")]))
    assert transport.body == b"01234"
    assert summary.body_bytes == 5
    assert not summary.keep_alive


def test_less_body_than_content_length_ends_the_connection() -> None:
    transport, summary = serve(app_returning(iter([b"01", b"23"]), headers=[TEXT, ("Content-Length", "10")]))
    assert transport.body == b"0123"
    assert not summary.keep_alive


def test_no_body_at_all_despite_a_content_length_ends_the_connection() -> None:
    """Otherwise the client waits for bytes that never come, on a connection the server keeps."""
    transport, summary = serve(app_returning([], headers=[TEXT, ("Content-Length", "10")]))
    assert b"Content-Length: 10" in transport.head
    assert transport.body == b""
    assert not summary.keep_alive


def test_head_request_without_body_keeps_the_connection_despite_a_content_length() -> None:
    transport, summary = serve(app_returning([], headers=[TEXT, ("Content-Length", "10")]), HEAD)
    assert b"Content-Length: 10" in transport.head
    assert summary.keep_alive


# -- sendfile ------------------------------------------------------------------------------


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 400)
    return path


def file_app(path: Path, *, offset: int = 0, length: int | None = None, declare: bool = True) -> Any:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        size = path.stat().st_size - offset if length is None else length
        start_response("200 OK", [TEXT, ("Content-Length", str(size))] if declare else [TEXT])
        file = path.open("rb")
        file.seek(offset)
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](file)
        return wrapper

    return app


def test_file_wrapper_over_a_real_file_uses_sendfile(data_file: Path) -> None:
    transport, summary = serve(file_app(data_file))
    size = data_file.stat().st_size
    assert transport.sendfiles == [(0, size)]
    assert transport.sends == [(transport.sends[0][0], True)]  # the head only, flagged "more follows"
    assert transport.body == data_file.read_bytes()
    assert summary.body_bytes == size
    assert summary.keep_alive


def test_sendfile_starts_at_the_file_s_position(data_file: Path) -> None:
    transport, _ = serve(file_app(data_file, offset=1000))
    assert transport.sendfiles == [(1000, data_file.stat().st_size - 1000)]
    assert transport.body == data_file.read_bytes()[1000:]


def test_file_without_content_length_is_iterated(data_file: Path) -> None:
    transport, summary = serve(file_app(data_file, declare=False))
    assert transport.sendfiles == []
    assert b"Transfer-Encoding: chunked" in transport.head
    assert summary.body_bytes == data_file.stat().st_size


def test_file_shorter_than_its_content_length_is_not_sent_with_sendfile(data_file: Path) -> None:
    transport, summary = serve(file_app(data_file, length=data_file.stat().st_size + 10))
    assert transport.sendfiles == []
    assert not summary.keep_alive


def test_file_wrapper_over_a_non_file_is_iterated() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [TEXT, ("Content-Length", "6")])
        return FileWrapper(io.BytesIO(b"abcdef"), 4)

    transport, summary = serve(app)
    assert transport.sendfiles == []
    assert transport.body == b"abcdef"
    assert summary.keep_alive


def test_file_wrapper_for_head_sends_the_head_only(data_file: Path) -> None:
    transport, summary = serve(file_app(data_file), HEAD)
    assert transport.sendfiles == []
    assert transport.body == b""
    assert f"Content-Length: {data_file.stat().st_size}".encode() in transport.head
    assert summary.keep_alive


# -- errors and exc_info -------------------------------------------------------------------


def test_exception_before_the_head_is_a_500_that_closes(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app)
    assert transport.wire.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Connection: close" in transport.head
    assert (summary.status, summary.keep_alive) == (500, False)
    assert "Error handling request GET /path HTTP/1.1" in caplog.text
    assert "RuntimeError: boom" in caplog.text


def test_exception_after_the_head_cuts_the_response_without_a_last_chunk(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app_returning(Result([b"partial"], RuntimeError("late"))))
    assert transport.body == b"7\r\npartial\r\n"
    assert summary.status == 200
    assert not summary.keep_alive
    assert "RuntimeError: late" in caplog.text


def test_exc_info_before_the_head_replaces_the_response() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [TEXT, ("X-Old", "1")])
        try:
            raise ValueError("replace me")
        except ValueError:
            start_response("500 Oops", [TEXT], sys.exc_info())
        return [b"error page"]

    transport, summary = serve(app)
    assert transport.head.startswith(b"HTTP/1.1 500 Oops")
    assert b"X-Old" not in transport.head
    assert transport.body == b"error page"
    assert summary.keep_alive


def test_exc_info_after_the_head_reraises_and_cuts_the_connection() -> None:
    seen: list[BaseException] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [TEXT])
        write(b"sent")
        try:
            raise ValueError("too late")
        except ValueError:
            try:
                start_response("500 Oops", [TEXT], sys.exc_info())
            except ValueError as error:
                seen.append(error)
                raise
        return []

    transport, summary = serve(app)
    assert [str(error) for error in seen] == ["too late"]
    assert b"500" not in transport.wire
    assert not summary.keep_alive


def test_second_start_response_without_exc_info_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [TEXT])
        start_response("200 OK", [TEXT])
        return []

    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app)
    assert transport.wire.startswith(b"HTTP/1.1 500 ")
    assert summary.status == 500
    assert "second time" in caplog.text


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (app_returning([b"x"], "20 OK"), "Invalid status '20 OK'"),
        (app_returning([b"x"], headers=[("X-Bad", "a\r\nb")]), "Invalid value for header 'X-Bad'"),
        (app_returning(["text"]), "yielded str, not bytes"),  # type: ignore[list-item]
        (lambda environ, start_response: [b"x"], "without calling start_response()"),
    ],
    ids=["status", "header", "str-body", "no-start-response"],
)
def test_invalid_responses_become_500_with_a_log_line(app: Any, message: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app)
    assert transport.wire.startswith(b"HTTP/1.1 500 ")
    assert not summary.keep_alive
    assert message in caplog.text
    assert "GET /path HTTP/1.1" in caplog.text


# -- close() -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "transport"),
    [
        (Result([b"fine"]), RecordingTransport()),
        (Result([b"partial"], RuntimeError("in iteration")), RecordingTransport()),
        (Result([], RuntimeError("before any byte")), RecordingTransport()),
        (Result([b"a", b"b"]), RecordingTransport(fail_on_send=1)),
    ],
    ids=["success", "error-after-head", "error-before-head", "client-gone"],
)
def test_close_is_called_exactly_once_whatever_happens(result: Result, transport: RecordingTransport) -> None:
    serve(app_returning(result), transport=transport)
    assert result.closed == 1


def test_client_gone_mid_response_ends_the_connection_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app_returning(iter([b"a", b"b"])), transport=RecordingTransport(fail_on_send=2))
    assert not summary.keep_alive
    assert caplog.text == ""
    assert len(transport.sends) == 1


def test_error_in_close_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class FailingClose(Result):
        def close(self) -> None:
            raise RuntimeError("close failed")

    with caplog.at_level(logging.ERROR, logger="django.server"):
        transport, summary = serve(app_returning(FailingClose([b"ok"])))
    assert summary.keep_alive
    assert transport.body == b"2\r\nok\r\n0\r\n\r\n"
    assert "Error closing the response of GET /path HTTP/1.1" in caplog.text


# -- what a shutdown may cut at once -------------------------------------------------------


class DjangoLikeResponse:
    """An iterable with Django's ``streaming`` flag."""

    def __init__(self, pieces: Iterable[bytes], *, streaming: bool) -> None:
        self.streaming = streaming
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._pieces)


def openness(make_result: Any, headers: list[tuple[str, str]]) -> tuple[bool, bool]:
    """Whether the response counts as open-ended inside the view, then once the view returned."""
    gateway = WSGIGateway(app_returning([]), base_environ(server_name="127.0.0.1", server_port=8000, multithread=True))
    request = parse_request(GET)
    writer = gateway.writer(request, RequestBody(), RecordingTransport(), keep_alive=True)
    in_the_view: list[bool] = []

    def pieces() -> Iterator[bytes]:
        yield b"data"

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", headers)
        in_the_view.append(writer.open_ended)
        return make_result(pieces)  # type: ignore[no-any-return]

    gateway.application = app
    gateway.respond(writer, request, RequestBody(), ("127.0.0.1", 5000))
    return in_the_view[0], writer.open_ended


@pytest.mark.parametrize(
    ("make_result", "headers", "open_ended"),
    [
        pytest.param(lambda it: it(), [TEXT], True, id="a generator of unknown length"),
        pytest.param(lambda it: DjangoLikeResponse(it(), streaming=True), [TEXT], True, id="StreamingHttpResponse"),
        pytest.param(lambda it: it(), [TEXT, ("Content-Length", "4")], False, id="a known length"),
        pytest.param(lambda it: DjangoLikeResponse(it(), streaming=False), [TEXT], False, id="HttpResponse"),
        pytest.param(lambda it: [b"data"], [TEXT], False, id="a list"),
    ],
)
def test_only_a_returned_stream_of_unknown_length_is_open_ended(
    make_result: Any, headers: list[tuple[str, str]], open_ended: bool
) -> None:
    in_the_view, returned = openness(make_result, headers)
    assert not in_the_view  # a view still running keeps its grace
    assert returned is open_ended
