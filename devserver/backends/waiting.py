"""Waiting for a socket to become readable or writable, with ``poll`` (no FD_SETSIZE limit) where
it exists."""

from __future__ import annotations

import select
import socket


def wait_readable(socks: tuple[socket.socket, ...], timeout: float) -> list[int]:
    """The descriptors among ``socks`` that are readable within ``timeout`` seconds."""
    timeout = max(timeout, 0.0)  # poll() takes a negative timeout as "forever"
    if hasattr(select, "poll"):
        poller = select.poll()
        for sock in socks:
            poller.register(sock, select.POLLIN)
        return [fd for fd, _ in poller.poll(timeout * 1000)]
    readable, _, _ = select.select(socks, [], [], timeout)
    return [sock.fileno() for sock in readable]


def wait_writable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` can take more bytes within ``timeout`` seconds."""
    timeout = max(timeout, 0.0)
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(timeout * 1000))
    _, writable, _ = select.select([], [sock], [], timeout)
    return bool(writable)


class ReadableWaiter:
    """``wait_readable`` for a fixed set of sockets, prepared once (a worker waits once a request)."""

    __slots__ = ("_fds", "_poller", "_socks")

    def __init__(self, *socks: socket.socket) -> None:
        self._socks = socks
        self._fds = [sock.fileno() for sock in socks]
        self._poller = select.poll() if hasattr(select, "poll") else None
        if self._poller is not None:
            for fd in self._fds:
                self._poller.register(fd, select.POLLIN)

    def wait(self, timeout: float) -> list[int]:
        if self._poller is None:
            return wait_readable(self._socks, timeout)
        return [fd for fd, _ in self._poller.poll(max(timeout, 0.0) * 1000)]
