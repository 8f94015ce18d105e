"""The server's ``ssl.SSLContext`` (TLS 1.2 or newer, forward-secret AEAD ciphers, HTTP/1.1), and
the context a local client uses to check that it is talking to this server."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Final

from ..conf import ServerConfig
from ..errors import ConfigurationError
from .connection import ServerTLSSocket
from .files import TLSFiles

#: TLS 1.2 suites (TLS 1.3's are all AEAD and forward-secret already): Mozilla's "intermediate" choice.
CIPHERS: Final = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"


class _EncryptedKey(Exception):
    """OpenSSL asked for a pass phrase: a development server has no one to type it."""


def _no_pass_phrase() -> str:
    raise _EncryptedKey


def server_context(files: TLSFiles) -> ssl.SSLContext:
    """A server-side context holding the certificate and key; :class:`ConfigurationError` when they do not load.

    Its ``wrap_socket`` returns :class:`~.connection.ServerTLSSocket`. Renegotiation is off: a
    write that must first read (or a read that must write) would need waits the backends do not make.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(["http/1.1"])
    context.sslsocket_class = ServerTLSSocket
    for path in filter(None, files):
        try:
            with path.open("rb") as file:
                file.read(1)
        except OSError as error:
            raise ConfigurationError(f"Cannot read {str(path)!r}: {error.strerror or error}.") from None
    try:
        context.load_cert_chain(files.cert_file, files.key_file, password=_no_pass_phrase)
    except _EncryptedKey:
        raise ConfigurationError(
            f"The private key for {str(files.cert_file)!r} is encrypted; devrun needs it without a pass phrase."
        ) from None
    except ssl.SSLError as error:
        raise ConfigurationError(_load_error(files, error)) from None
    return context


def _load_error(files: TLSFiles, error: ssl.SSLError) -> str:
    cert = repr(str(files.cert_file))
    if error.reason == "KEY_VALUES_MISMATCH":
        return f"The key {str(files.key_file or files.cert_file)!r} does not belong to the certificate {cert}."
    if files.key_file is None and b"PRIVATE KEY-----" not in files.cert_file.read_bytes():
        return f"{cert} holds no private key: give it with --key-file (or KEY_FILE)."
    return f"{cert} and its key are not a PEM certificate and private key ({error.reason or error})."


def configured_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The context for ``--cert-file``/``--key-file`` (or ``CERT_FILE``/``KEY_FILE``); None for plain HTTP.

    Every serving process makes its own (the reloader's children, the supervisor's error page):
    a context cannot travel between processes, and loading a pair takes about a millisecond.
    """
    files = TLSFiles.from_settings(config.cert_file, config.key_file)
    return server_context(files) if files is not None else None


def client_context(cert_file: str | Path | None) -> ssl.SSLContext:
    """A client context for talking to this server from this machine (``--check``, the pytest
    plugin): it trusts ``cert_file`` itself, as the issuer of the chain it serves (a leaf of
    mkcert's works as well as a self-signed one), and does not check the host name, which is
    whatever address the server was started on. Without ``cert_file``, nothing is verified.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    if cert_file is None:
        context.verify_mode = ssl.CERT_NONE
        return context
    context.load_verify_locations(cafile=str(cert_file))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
