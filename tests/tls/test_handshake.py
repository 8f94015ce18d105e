"""The handshake stepped on a non-blocking socket, and what a failed one says in the log."""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
import warnings

import pytest

from devserver.tls.handshake import advance, complete, failure_reason, log_failed, wrap

from .conftest import TIMEOUT, client_handshake


def test_the_handshake_waits_for_the_client_then_completes(
    tcp: tuple[socket.socket, socket.socket], context: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    server, client = tcp
    tls = wrap(context, server)
    assert advance(tls) == selectors.EVENT_READ  # nothing from the client yet: never blocks
    thread, done = client_handshake(client, trusting)
    assert complete(tls, time.monotonic() + TIMEOUT)
    thread.join(TIMEOUT)
    assert done[0].version() in ("TLSv1.2", "TLSv1.3")
    assert advance(tls) == 0
    done[0].close()
    tls.close()


def test_a_silent_client_runs_into_the_deadline(
    tcp: tuple[socket.socket, socket.socket], context: ssl.SSLContext
) -> None:
    server, _ = tcp
    tls = wrap(context, server)
    started = time.monotonic()
    assert not complete(tls, started + 0.2)
    assert 0.15 <= time.monotonic() - started < TIMEOUT
    tls.close()


def test_an_old_client_fails_with_a_reason_worth_logging(
    tcp: tuple[socket.socket, socket.socket], context: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    server, client = tcp
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    refused: list[OSError] = []
    thread, _ = client_handshake(client, old, refused)
    tls = wrap(context, server)
    with pytest.raises(ssl.SSLError) as failed:
        complete(tls, time.monotonic() + TIMEOUT)
    thread.join(TIMEOUT)
    assert len(refused) == 1
    assert failure_reason(failed.value) == "the client offers only TLS versions older than 1.2 (unsupported protocol)"
    with caplog.at_level(logging.WARNING, "django.server"):
        log_failed(("127.0.0.1", 5555), failed.value)
    assert caplog.messages == [
        "TLS handshake with 127.0.0.1:5555 failed: "
        "the client offers only TLS versions older than 1.2 (unsupported protocol)"
    ]
    tls.close()


def test_a_client_that_just_left_is_not_worth_a_line() -> None:
    assert failure_reason(ConnectionResetError()) is None
    assert failure_reason(ssl.SSLEOFError()) is None
