"""The start of a connection on the HTTPS port: wrap it, then step the handshake on a
non-blocking socket, so that a client that stalls holds nothing but its own socket.

The single backend steps :func:`advance` whenever its selector says the socket is ready; the
threaded backend and the crash page, which have a thread per connection, wait in between with
:func:`complete`. A failed handshake is logged in one line when it says something the developer
can act on (the browser does not trust the certificate, the client offers only old TLS versions).
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
from typing import Final, cast

from ..accesslog import SERVER_TIME
from ..backends.waiting import wait_readable, wait_writable
from .connection import ServerTLSSocket

logger: Final = logging.getLogger("django.server")

#: Handshake failures that mean the client rejected the certificate (a browser that does not trust it yet).
_DISTRUST: Final = frozenset(
    {
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "TLSV1_ALERT_DECRYPT_ERROR",
    }
)
_TOO_OLD: Final = frozenset({"UNSUPPORTED_PROTOCOL", "VERSION_TOO_LOW", "TLSV1_ALERT_PROTOCOL_VERSION"})


def wrap(context: ssl.SSLContext, sock: socket.socket) -> ServerTLSSocket:
    """Wrap an accepted socket for a handshake stepped by :func:`advance`; it is non-blocking from now on."""
    sock.setblocking(False)
    return cast(ServerTLSSocket, context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False))


def advance(tls: ssl.SSLSocket) -> int:
    """Take the handshake as far as the socket allows: 0 once it is done, else the event to wait
    for (``selectors.EVENT_READ`` or ``EVENT_WRITE``). Raises ``ssl.SSLError`` (or another
    ``OSError``) when it fails."""
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return selectors.EVENT_READ
    except ssl.SSLWantWriteError:
        return selectors.EVENT_WRITE
    return 0


def complete(tls: ssl.SSLSocket, deadline: float) -> bool:
    """Step the handshake, waiting for the socket in between: True once done, False at ``deadline``."""
    while event := advance(tls):
        remaining = deadline - time.monotonic()
        ready = wait_readable((tls,), remaining) if event == selectors.EVENT_READ else wait_writable(tls, remaining)
        if not ready:
            return False
    return True


def failure_reason(error: OSError) -> str | None:
    """What a failed handshake is worth saying in the log; None when the client just went away."""
    if not isinstance(error, ssl.SSLError) or isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return None
    reason = error.reason or ""
    if reason in _DISTRUST:
        return f"the client does not trust the certificate ({_words(reason)})"
    if reason in _TOO_OLD:
        return f"the client offers only TLS versions older than 1.2 ({_words(reason)})"
    return _words(reason) if reason else str(error)


def log_failure(client: tuple[str, int], reason: str) -> None:
    """``TLS handshake with 127.0.0.1:53114 failed: ...`` on the ``django.server`` logger."""
    extra = {"server_time": SERVER_TIME.value(), "status_code": 400}
    logger.warning("TLS handshake with %s:%d failed: %s", client[0], client[1], reason, extra=extra)


def log_failed(client: tuple[str, int], error: OSError) -> None:
    """Log a failed handshake if it says something (see :func:`failure_reason`)."""
    reason = failure_reason(error)
    if reason is not None:
        log_failure(client, reason)


def _words(reason: str) -> str:
    return reason.lower().replace("_", " ")
