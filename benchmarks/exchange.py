"""``python -m benchmarks.exchange``: what one request costs in ``BaseBackend.exchange``.

The part of the hot path that every backend shares (build the response writer, register it
so that a shutdown can cut it, build the environ, run the application, frame and "send" the
response, take it out of the table), timed in a loop with a trivial WSGI application and a
transport that discards what it is given: no socket, no Django, no access line (the logger
is set above INFO). Pinned to one core when it can be; the minimum of the repeats is
reported, which load on other cores barely moves. Run it at two commits to compare them.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import timeit
from collections.abc import Iterable, Sequence
from typing import IO

from devserver.backends.base import BaseBackend
from devserver.conf import ServerConfig
from devserver.http.parser import Request, RequestParser
from devserver.wsgi.environ import Environ
from devserver.wsgi.gateway import StartResponse
from devserver.wsgi.input import RequestBody

HEAD = b"GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, world!"]


class DiscardingTransport:
    def send(self, data: bytes, *, more: bool = False) -> None:
        pass

    def sendfile(self, file: IO[bytes], offset: int, count: int) -> int:
        return count


def microseconds_per_exchange(number: int, repeat: int) -> float:
    logging.getLogger("django.server").setLevel(logging.ERROR)
    parser = RequestParser()
    parser.feed(HEAD)
    request = parser.next_event()
    assert isinstance(request, Request)
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket() as sock:
        backend = BaseBackend(listener, application, ServerConfig())
        transport, client = DiscardingTransport(), ("127.0.0.1", 5000)

        def one() -> None:
            backend.exchange(request, RequestBody(), transport, client, sock)

        try:
            return min(timeit.repeat(one, number=number, repeat=repeat)) / number * 1e6
        finally:
            backend.close_stop_signal()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exchange", description=__doc__)
    parser.add_argument("--number", type=int, default=20_000, help="calls per repeat (default: 20000)")
    parser.add_argument("--repeat", type=int, default=40, help="repeats; the fastest counts (default: 40)")
    parser.add_argument("--cpu", type=int, default=0, help="the core to pin to (default: 0)")
    options = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {options.cpu})
    print(f"{microseconds_per_exchange(options.number, options.repeat):.2f} µs per exchange")
    return 0


if __name__ == "__main__":
    sys.exit(main())
