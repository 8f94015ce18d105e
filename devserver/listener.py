"""The listening socket: bound here once, or inherited from the reloader's supervisor."""

from __future__ import annotations

import errno
import os
import socket
from typing import Final

from .errors import EXIT_BIND_FAILED, EXIT_USAGE, BindError

#: The supervisor passes the listening socket's descriptor to its child in this variable.
LISTEN_FD_ENV: Final = "DEVSERVER_LISTEN_FD"
BACKLOG: Final = 1024

_BIND_ERRORS: Final = {
    errno.EADDRINUSE: ("That port is already in use.", EXIT_BIND_FAILED),
    errno.EACCES: ("You don't have permission to access that port.", EXIT_USAGE),
    errno.EADDRNOTAVAIL: ("That IP address can't be assigned to.", EXIT_USAGE),
}


def bind_listener(host: str, port: int, *, ipv6: bool) -> socket.socket:
    """Bind and listen; raise :class:`BindError` with runserver's wording for the usual failures."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except socket.gaierror as error:
        sock.close()
        raise BindError(f"Cannot resolve the address {host!r}: {error.strerror}.", EXIT_USAGE) from error
    except OSError as error:
        sock.close()
        message, status = _BIND_ERRORS.get(error.errno or 0, (f"{error.strerror or error}.", EXIT_USAGE))
        raise BindError(message, status) from error
    return sock


def inherited_listener() -> socket.socket | None:
    """The socket a supervisor handed down, if this process is a reloader child."""
    value = os.environ.get(LISTEN_FD_ENV)
    if not value:
        return None
    return socket.socket(fileno=int(value))


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])
