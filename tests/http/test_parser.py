"""The request parser: bytes in, events out, and every refusal with its HTTP status."""

from __future__ import annotations

import pytest

from devserver.http.errors import (
    BadRequest,
    HTTPError,
    HTTPVersionNotSupported,
    NotImplementedByServer,
    RequestHeaderFieldsTooLarge,
    URITooLong,
)
from devserver.http.limits import MAX_HEADER_BLOCK, MAX_HEADER_FIELDS, MAX_REQUEST_LINE, Limits
from devserver.http.parser import (
    MESSAGE_END,
    BodyChunk,
    Event,
    Request,
    RequestParser,
    TLSHandshakeReceived,
)

GET = b"GET /shop/items?page=2&q=a%20b HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"
POST = b"POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\nhello world"
CHUNKED = (
    b"POST /upload HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
)


def parse(data: bytes, *, bytewise: bool = False, limits: Limits | None = None) -> list[Event]:
    parser = RequestParser(limits)
    pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for piece in pieces:
        parser.feed(piece)
    return drain(parser)


def drain(parser: RequestParser) -> list[Event]:
    events: list[Event] = []
    while (event := parser.next_event()) is not None:
        events.append(event)
    return events


def refusal(data: bytes, *, bytewise: bool = False, limits: Limits | None = None) -> HTTPError:
    with pytest.raises(HTTPError) as caught:
        parse(data, bytewise=bytewise, limits=limits)
    return caught.value


def summary(events: list[Event]) -> list[object]:
    """Requests by their line, bodies joined: the same for any split of the input."""
    result: list[object] = []
    body = bytearray()
    for event in events:
        if isinstance(event, Request):
            result.append(event.request_line)
        elif isinstance(event, BodyChunk):
            body += event.data
        else:
            assert event is MESSAGE_END
            result.extend([bytes(body), "end"])
            body.clear()
    return result


# -- requests ---------------------------------------------------------------------------


def test_simple_get_is_one_request_event_without_message_end() -> None:
    (request,) = parse(GET)
    assert isinstance(request, Request)
    assert request.method == "GET"
    assert request.target == b"/shop/items?page=2&q=a%20b"
    assert request.path == b"/shop/items"
    assert request.query == b"page=2&q=a%20b"
    assert request.http_version == "1.1"
    assert request.headers == [(b"Host", b"example.test"), (b"Accept", b"*/*")]
    assert request.keep_alive
    assert not request.expects_continue
    assert not request.chunked
    assert request.content_length is None
    assert not request.has_body
    assert request.request_line == "GET /shop/items?page=2&q=a%20b HTTP/1.1"


def test_content_length_body_follows_as_chunks_then_message_end() -> None:
    request, *body, end = parse(POST)
    assert isinstance(request, Request)
    assert request.content_length == 11
    assert request.has_body
    assert b"".join(chunk.data for chunk in body if isinstance(chunk, BodyChunk)) == b"hello world"
    assert end is MESSAGE_END


def test_chunked_body_is_decoded_and_trailers_are_not_body() -> None:
    request, *body, end = parse(CHUNKED)
    assert isinstance(request, Request)
    assert request.chunked
    assert request.has_body
    assert request.content_length is None
    assert b"".join(chunk.data for chunk in body if isinstance(chunk, BodyChunk)) == b"hello world"
    assert end is MESSAGE_END


def test_pipelined_requests_come_out_in_order() -> None:
    assert summary(parse(GET + POST + GET)) == [
        "GET /shop/items?page=2&q=a%20b HTTP/1.1",
        "POST /upload HTTP/1.1",
        b"hello world",
        "end",
        "GET /shop/items?page=2&q=a%20b HTTP/1.1",
    ]


@pytest.mark.parametrize("data", [GET, POST, CHUNKED, GET + CHUNKED + POST], ids=["get", "post", "chunked", "mixed"])
def test_feeding_byte_by_byte_gives_the_same_events(data: bytes) -> None:
    assert summary(parse(data, bytewise=True)) == summary(parse(data))


def test_zero_content_length_is_no_body() -> None:
    (request,) = parse(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(request, Request)
    assert request.content_length == 0
    assert not request.has_body


def test_absolute_form_target_is_split_into_path_and_query() -> None:
    (request,) = parse(b"GET http://example.test/a/b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(request, Request)
    assert (request.path, request.query) == (b"/a/b", b"x=1")


def test_asterisk_target_is_kept_as_the_path() -> None:
    (request,) = parse(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(request, Request)
    assert (request.method, request.path, request.query) == ("OPTIONS", b"*", b"")


def test_query_fragment_is_not_part_of_the_query() -> None:
    (request,) = parse(b"GET /a?x=1#frag HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(request, Request)
    assert request.query == b"x=1"


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_version_and_connection_header(head: bytes, keep_alive: bool) -> None:
    (request,) = parse(head)
    assert isinstance(request, Request)
    assert request.keep_alive is keep_alive


def test_expect_100_continue_is_noticed_on_http11_only() -> None:
    expect = b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    (on_11,) = parse(b"POST / HTTP/1.1\r\nHost: x\r\n" + expect)
    (on_10,) = parse(b"POST / HTTP/1.0\r\n" + expect)
    assert isinstance(on_11, Request)
    assert isinstance(on_10, Request)
    assert on_11.expects_continue
    assert not on_10.expects_continue


def test_upgrade_request_is_delivered_then_the_parser_stops() -> None:
    parser = RequestParser()
    parser.feed(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    parser.feed(b"\x81\x05hello")  # frames after an upgrade are not HTTP
    (request,) = drain(parser)
    assert isinstance(request, Request)
    assert parser.upgraded
    assert not request.keep_alive
    assert request.upgrade


def test_bytes_after_an_upgrade_head_are_kept_for_the_new_protocol() -> None:
    """A websocket client may send its first frame right behind the handshake, even in the same packet."""
    parser = RequestParser()
    parser.feed(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hel")
    parser.feed(b"lo")
    (request,) = drain(parser)
    assert isinstance(request, Request)
    assert parser.upgrade_data == b"\x81\x05hello"


def test_ordinary_requests_are_not_upgrades() -> None:
    (request,) = parse(GET)
    assert isinstance(request, Request)
    assert not request.upgrade


def test_header_values_lose_surrounding_whitespace() -> None:
    """RFC 9110 §5.5: optional whitespace around a field value is not part of the value."""
    (request,) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nX-Padded: \t padded value \t \r\nX-Empty: \r\n\r\n")
    assert isinstance(request, Request)
    assert request.headers == [(b"Host", b"x"), (b"X-Padded", b"padded value"), (b"X-Empty", b"")]


def test_in_message_and_has_events_track_progress() -> None:
    parser = RequestParser()

    def progress() -> tuple[bool, bool]:
        return parser.in_message, parser.has_events

    assert progress() == (False, False)
    parser.feed(POST[:20])
    assert progress() == (True, False)
    parser.feed(POST[20:-3])
    assert progress() == (True, True)  # head done, body still arriving
    parser.feed(POST[-3:])
    assert progress() == (False, True)
    assert summary(drain(parser)) == ["POST /upload HTTP/1.1", b"hello world", "end"]
    assert progress() == (False, False)


# -- refusals ---------------------------------------------------------------------------

REFUSALS: dict[str, tuple[bytes, type[HTTPError], int]] = {
    "long_target": (b"GET /" + b"a" * MAX_REQUEST_LINE + b" HTTP/1.1\r\n\r\n", URITooLong, 414),
    "big_header_block": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 1000) for i in range(70)) + b"\r\n",
        RequestHeaderFieldsTooLarge,
        431,
    ),
    "endless_header": (
        b"GET / HTTP/1.1\r\nX-Endless: " + b"v" * (2 * MAX_HEADER_BLOCK + 1),
        RequestHeaderFieldsTooLarge,
        431,
    ),
    "too_many_fields": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(MAX_HEADER_FIELDS + 1)) + b"\r\n",
        RequestHeaderFieldsTooLarge,
        431,
    ),
    "garbage": (b"\x00\x01\x02garbage\r\n\r\n", BadRequest, 400),
    "trailing_token_on_request_line": (b"GET / HTTP/1.1 extra\r\n\r\n", BadRequest, 400),
    "leading_space": (b" GET / HTTP/1.1\r\n\r\n", BadRequest, 400),
    "bad_header_name": (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", BadRequest, 400),
    "nul_in_header_value": (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", BadRequest, 400),
    "obsolete_line_folding": (b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", BadRequest, 400),
    "bare_lf": (b"GET / HTTP/1.1\nHost: x\n\n", BadRequest, 400),
    "relative_target": (b"GET path HTTP/1.1\r\n\r\n", BadRequest, 400),
    "content_length_and_chunked": (
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        BadRequest,
        400,
    ),
    "two_content_lengths": (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", BadRequest, 400),
    "negative_content_length": (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", BadRequest, 400),
    "bad_chunk_size": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", BadRequest, 400),
    "chunked_twice": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BadRequest, 400),
    "chunked_not_last": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", BadRequest, 400),
    "unknown_coding": (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NotImplementedByServer, 501),
    "unknown_method": (b"FOO / HTTP/1.1\r\n\r\n", NotImplementedByServer, 501),
    "lowercase_method": (b"get / HTTP/1.1\r\n\r\n", NotImplementedByServer, 501),
    "connect": (b"CONNECT example.test:443 HTTP/1.1\r\n\r\n", NotImplementedByServer, 501),
    "http_2_0": (b"GET / HTTP/2.0\r\n\r\n", HTTPVersionNotSupported, 505),
    "http_3_1": (b"GET / HTTP/3.1\r\n\r\n", HTTPVersionNotSupported, 505),
    "http_0_9": (b"GET /\r\n\r\n", HTTPVersionNotSupported, 505),
    "tls_client_hello": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64, TLSHandshakeReceived, 400),
}


@pytest.mark.parametrize(("data", "error_class", "status"), list(REFUSALS.values()), ids=list(REFUSALS))
def test_refusal_carries_its_status(data: bytes, error_class: type[HTTPError], status: int) -> None:
    error = refusal(data)
    assert type(error) is error_class
    assert error.status == status
    assert error.detail


@pytest.mark.parametrize(
    ("data", "error_class", "status"),
    [value for key, value in REFUSALS.items() if key != "tls_client_hello"],
    ids=[key for key in REFUSALS if key != "tls_client_hello"],
)
def test_refusal_is_the_same_when_fed_byte_by_byte(data: bytes, error_class: type[HTTPError], status: int) -> None:
    error = refusal(data, bytewise=True)
    assert isinstance(error, error_class)
    assert error.status == status


def test_unknown_method_is_named_in_the_detail() -> None:
    assert "FOO" in refusal(b"FOO / HTTP/1.1\r\n\r\n").detail


def test_events_before_a_refusal_stay_available() -> None:
    parser = RequestParser()
    with pytest.raises(HTTPVersionNotSupported):
        parser.feed(GET + b"GET / HTTP/2.0\r\n\r\n")
    assert summary(drain(parser)) == ["GET /shop/items?page=2&q=a%20b HTTP/1.1"]


def test_limits_are_configurable() -> None:
    small = Limits(max_request_line=16, max_header_block=64, max_header_fields=2)
    assert isinstance(refusal(b"GET /" + b"a" * 16 + b" HTTP/1.1\r\n\r\n", limits=small), URITooLong)
    three_fields = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
    assert isinstance(refusal(three_fields, limits=small), RequestHeaderFieldsTooLarge)
    big_value = b"GET / HTTP/1.1\r\nA: " + b"v" * 64 + b"\r\n\r\n"
    assert isinstance(refusal(big_value, limits=small), RequestHeaderFieldsTooLarge)
    (request,) = parse(b"GET /" + b"a" * 15 + b" HTTP/1.1\r\nHost: x\r\nB: 2\r\n\r\n", limits=small)
    assert isinstance(request, Request)


def test_default_limits_accept_a_request_just_inside_them() -> None:
    target = b"/" + b"a" * (MAX_REQUEST_LINE - 1)
    fields = b"Host: x\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(MAX_HEADER_FIELDS - 1))
    (request,) = parse(b"GET " + target + b" HTTP/1.1\r\n" + fields + b"\r\n")
    assert isinstance(request, Request)
    assert len(request.target) == MAX_REQUEST_LINE
    assert len(request.headers) == MAX_HEADER_FIELDS


def test_path_fragment_is_not_part_of_the_path() -> None:
    (request,) = parse(b"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(request, Request)
    assert (request.path, request.query) == (b"/a", b"")


# -- one feed spanning two requests ------------------------------------------------------

#: The parser's fallback bound on a head that never ends (request line plus header block).
HEAD_BOUND = MAX_REQUEST_LINE + MAX_HEADER_BLOCK


def test_large_body_before_the_next_head_does_not_count_as_header_bytes() -> None:
    body = b"x" * (HEAD_BOUND + 1)
    parser = RequestParser()
    parser.feed(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%bGET /next HTTP/1.1\r\nHost: exa" % (len(body), body)
    )
    parser.feed(b"mple.com\r\n\r\n")
    events = drain(parser)
    assert events[-2] is MESSAGE_END
    assert isinstance(events[-1], Request)
    assert events[-1].path == b"/next"


def test_endless_head_after_a_body_in_the_same_feed_is_still_bounded() -> None:
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    with pytest.raises(RequestHeaderFieldsTooLarge):
        parser.feed(b"v" * (HEAD_BOUND + 1))


def test_garbage_after_a_good_request_in_the_same_feed_is_400() -> None:
    """The method check must look at the failing request, not at the first one in the feed."""
    parser = RequestParser()
    with pytest.raises(HTTPError) as raised:
        parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01 garbage\r\n\r\n")
    assert raised.value.status == 400
    assert "GET" not in raised.value.detail
    assert isinstance(parser.next_event(), Request)


def test_upgrade_request_with_a_body_is_refused_not_emptied() -> None:
    """llhttp would hand the body to the "new protocol"; the application would see none."""
    parser = RequestParser()
    with pytest.raises(NotImplementedByServer):
        parser.feed(
            b"POST /echo/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 3\r\n\r\nfoo"
        )


# -- RFC 9112's MUSTs on Host (§3.2) and on HTTP/1.0 with Transfer-Encoding (§6.1) -----------


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", id="http11_without_host"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", id="two_hosts"),
        pytest.param(b"GET / HTTP/1.0\r\nhost: a\r\nHOST: b\r\n\r\n", id="two_hosts_on_http10"),
    ],
)
def test_a_missing_or_repeated_host_gets_400(head: bytes) -> None:
    error = refusal(head)
    assert (type(error), error.status) == (BadRequest, 400)


def test_http10_needs_no_host() -> None:
    (request,) = parse(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(request, Request)


def test_http10_with_transfer_encoding_never_keeps_the_connection() -> None:
    head = b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    request, chunk, end = parse(head)
    assert isinstance(request, Request)
    assert request.chunked
    assert not request.keep_alive
    assert (chunk, end) == (BodyChunk(b"abc"), MESSAGE_END)
    (kept,) = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert isinstance(kept, Request)
    assert kept.keep_alive
