"""``wsgi.input``: reads that pull the body lazily and never past its end."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from devserver.wsgi.input import SPOOL_MEMORY_LIMIT, BodySpool, RequestBody


class PieceSource:
    """Hands out ``pieces`` one per call, then ``b""``; fails if asked again after the end."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = list(pieces)
        self.calls = 0
        self.ended = False

    def __call__(self) -> bytes:
        assert not self.ended, "read past the end of the body"
        self.calls += 1
        if not self.pieces:
            self.ended = True
            return b""
        return self.pieces.pop(0)


def body_of(*pieces: bytes) -> tuple[RequestBody, PieceSource]:
    source = PieceSource(pieces)
    return RequestBody(source), source


def test_read_without_size_returns_everything_then_empty() -> None:
    body, source = body_of(b"hel", b"lo ", b"world")
    assert body.read() == b"hello world"
    assert body.read() == b""
    assert body.read(10) == b""
    assert body.readline() == b""
    assert source.ended


@pytest.mark.parametrize("size", [None, -1])
def test_read_with_none_or_negative_size_reads_everything(size: int | None) -> None:
    body, _ = body_of(b"ab", b"cd")
    assert body.read(size) == b"abcd"


def test_read_with_size_pulls_only_the_pieces_it_needs() -> None:
    body, source = body_of(b"abc", b"def", b"ghi")
    assert body.read(4) == b"abcd"
    assert source.calls == 2
    assert body.read(2) == b"ef"
    assert source.calls == 2
    assert body.read(100) == b"ghi"
    assert body.read(1) == b""


def test_read_zero_returns_nothing_and_pulls_nothing() -> None:
    body, source = body_of(b"abc")
    assert body.read(0) == b""
    assert source.calls == 0


def test_readline_splits_across_pieces_and_keeps_the_last_partial_line() -> None:
    body, _ = body_of(b"one\ntw", b"o\n", b"\nthree")
    assert [body.readline() for _ in range(5)] == [b"one\n", b"two\n", b"\n", b"three", b""]


def test_readline_with_a_size_stops_there() -> None:
    body, _ = body_of(b"abcdef\ngh")
    assert body.readline(4) == b"abcd"
    assert body.readline(4) == b"ef\n"
    assert body.readline(4) == b"gh"
    assert body.readline(4) == b""


def test_readlines_and_iteration_give_the_lines() -> None:
    lines = [b"a\n", b"bb\n", b"ccc"]
    assert body_of(b"a\nbb", b"\nccc")[0].readlines() == lines
    assert list(body_of(b"a\nbb", b"\nccc")[0]) == lines


def test_readlines_stops_after_the_hint() -> None:
    body, _ = body_of(b"a\nbb\nccc\n")
    assert body.readlines(3) == [b"a\n", b"bb\n"]
    assert body.read() == b"ccc\n"


def test_bytes_read_counts_what_the_application_took() -> None:
    body, _ = body_of(b"abc", b"defg")
    body.read(2)
    body.readline()
    assert body.bytes_read == 7


def test_drain_consumes_the_rest_of_the_source() -> None:
    body, source = body_of(b"abc", b"def", b"ghi")
    body.read(1)
    body.drain()
    assert source.ended
    assert body.read() == b""


def test_no_body_reads_empty() -> None:
    body = RequestBody()
    assert body.read() == b""
    assert body.readline() == b""
    assert list(body) == []
    body.drain()


@pytest.mark.parametrize("size", [10, SPOOL_MEMORY_LIMIT * 2 + 3])
def test_spool_gives_back_what_was_written(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    spool = BodySpool()
    try:
        for start in range(0, size, 70_000):
            spool.write(data[start : start + 70_000])
        assert spool.size == size
        reader = spool.reader()
        assert reader.read(5) == data[:5]
        assert reader.read() == data[5:]
        assert reader.read() == b""
    finally:
        spool.close()
