"""Waiting for a socket to become readable, with ``poll`` (no FD_SETSIZE limit) where it exists."""

from __future__ import annotations

import select
import socket


def wait_readable(socks: tuple[socket.socket, ...], timeout: float) -> list[int]:
    """The descriptors among ``socks`` that are readable within ``timeout`` seconds."""
    if hasattr(select, "poll"):
        poller = select.poll()
        for sock in socks:
            poller.register(sock, select.POLLIN)
        return [fd for fd, _ in poller.poll(timeout * 1000)]
    readable, _, _ = select.select(socks, [], [], timeout)
    return [sock.fileno() for sock in readable]
