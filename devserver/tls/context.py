"""The server's ``ssl.SSLContext``: TLS 1.2 or newer, forward-secret AEAD ciphers, HTTP/1.1."""

from __future__ import annotations

import ssl
from typing import Final

from ..errors import ConfigurationError
from .files import TLSFiles

#: TLS 1.2 suites (TLS 1.3's are all AEAD and forward-secret already): Mozilla's "intermediate" choice.
CIPHERS: Final = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"


class _EncryptedKey(Exception):
    """OpenSSL asked for a pass phrase: a development server has no one to type it."""


def _no_pass_phrase() -> str:
    raise _EncryptedKey


def server_context(files: TLSFiles) -> ssl.SSLContext:
    """A server-side context holding the certificate and key; :class:`ConfigurationError` when they do not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
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
