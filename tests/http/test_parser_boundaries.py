"""The parser when one feed holds the end of one request and the start of the next."""

from __future__ import annotations

import pytest

from devserver.http.errors import HTTPError, RequestHeaderFieldsTooLarge
from devserver.http.limits import MAX_HEADER_BLOCK, MAX_REQUEST_LINE
from devserver.http.parser import MESSAGE_END, Request, RequestParser

#: The parser's fallback bound on a head that never ends (request line plus header block).
HEAD_BOUND = MAX_REQUEST_LINE + MAX_HEADER_BLOCK


def test_large_body_before_the_next_head_does_not_count_as_header_bytes() -> None:
    body = b"x" * (HEAD_BOUND + 1)
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%bGET /next HTTP/1.1\r\nHost: exa" % (len(body), body))
    parser.feed(b"mple.com\r\n\r\n")
    events = []
    while (event := parser.next_event()) is not None:
        events.append(event)
    assert events[-2] is MESSAGE_END
    assert isinstance(events[-1], Request)
    assert events[-1].path == b"/next"


def test_endless_head_after_a_body_in_the_same_feed_is_still_bounded() -> None:
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nX-Endless: ")
    with pytest.raises(RequestHeaderFieldsTooLarge):
        parser.feed(b"v" * (HEAD_BOUND + 1))


def test_garbage_after_a_good_request_in_the_same_feed_is_400() -> None:
    """The method check must look at the failing request, not at the first one in the feed."""
    parser = RequestParser()
    with pytest.raises(HTTPError) as raised:
        parser.feed(b"GET / HTTP/1.1\r\n\r\n\x00\x01 garbage\r\n\r\n")
    assert raised.value.status == 400
    assert "GET" not in raised.value.detail
    assert isinstance(parser.next_event(), Request)
