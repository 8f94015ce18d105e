"""What the kernel says about a server's sockets and descriptors (Linux ``/proc``)."""

from __future__ import annotations

import os
from pathlib import Path

LISTEN = "0A"


def _tcp_table() -> list[list[str]]:
    rows = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net", name)
        if path.exists():
            rows += [line.split() for line in path.read_text().splitlines()[1:]]
    return rows


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def unread_bytes(server_port: int, client_port: int) -> int | None:
    """Bytes the client sent that the server side has not read yet (None: no such connection)."""
    for row in _tcp_table():
        if _port(row[1]) == server_port and _port(row[2]) == client_port:
            return int(row[4].split(":")[1], 16)
    return None


def tcp_sockets(pid: int) -> list[str]:
    """The TCP states (``0A`` listening, ``01`` established, ...) of the sockets ``pid`` holds."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in fd_dir.iterdir():
        try:
            target = os.readlink(entry)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return [row[3] for row in _tcp_table() if row[9] in inodes]


def descriptor_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
