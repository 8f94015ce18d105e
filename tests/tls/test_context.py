"""The server's SSL context, shaken hands with in memory: versions, ciphers, ALPN, and bad pairs."""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from devserver.errors import ConfigurationError
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str | None = None) -> ssl.SSLObject:
    """A whole TLS handshake between two contexts over memory buffers; returns the client's side."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    client_side = client.wrap_bio(client_in, client_out, server_hostname=server_hostname)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if all(done.values()):
            return client_side
    raise AssertionError("the handshake did not finish")


def client_for(version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client that speaks only ``version`` and trusts anything (the server's policy is under test)."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.set_ciphers("ALL:@SECLEVEL=0")  # let an old version be offered at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 and 1.1 are: that is the point
        client.minimum_version = client.maximum_version = version
    return client


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_1_2_and_1_3_are_served(pair: TLSFiles, version: ssl.TLSVersion) -> None:
    client_side = handshake(server_context(pair), client_for(version))
    assert client_side.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    assert client_side.selected_alpn_protocol() is None  # the client asked for none


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_older_versions_are_refused(pair: TLSFiles, version: ssl.TLSVersion) -> None:
    context = server_context(pair)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match=r"UNSUPPORTED_PROTOCOL|unsupported protocol"):
        handshake(context, client_for(version))


def test_the_old_version_client_is_refused_by_the_server_s_policy_alone(pair: TLSFiles) -> None:
    """Control: with the minimum lowered, the same client completes its TLS 1.1 handshake."""
    context = server_context(pair)
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    assert handshake(context, client_for(ssl.TLSVersion.TLSv1_1)).version() == "TLSv1.1"


def test_every_cipher_is_forward_secret_and_authenticated_encryption(pair: TLSFiles) -> None:
    ciphers = server_context(pair).get_ciphers()
    assert ciphers
    for cipher in ciphers:
        assert cipher["aead"], cipher["name"]
        assert cipher["kea"] in {"kx-ecdhe", "kx-dhe", "kx-any"}, cipher["name"]  # kx-any: TLS 1.3


def test_http_1_1_is_the_protocol_offered(pair: TLSFiles) -> None:
    client = client_for(ssl.TLSVersion.TLSv1_3)
    client.set_alpn_protocols(["h2", "http/1.1"])
    assert handshake(server_context(pair), client).selected_alpn_protocol() == "http/1.1"


def test_a_key_of_another_certificate_is_one_line(pair: TLSFiles, other_pair: TLSFiles) -> None:
    with pytest.raises(ConfigurationError, match="does not belong to the certificate") as caught:
        server_context(TLSFiles(pair.cert_file, other_pair.key_file))
    assert "\n" not in str(caught.value)


def test_a_certificate_file_without_its_key_says_to_give_one(pair: TLSFiles) -> None:
    with pytest.raises(ConfigurationError, match="holds no private key: give it with --key-file"):
        server_context(TLSFiles(pair.cert_file))


def test_an_unreadable_file_is_named(pair: TLSFiles, tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    with pytest.raises(ConfigurationError, match=r"Cannot read '.*missing\.key': No such file or directory"):
        server_context(TLSFiles(pair.cert_file, missing))


def test_a_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n")
    with pytest.raises(ConfigurationError, match=r"'.*notes\.txt' and its key are not a PEM certificate"):
        server_context(TLSFiles(garbage))


def test_an_encrypted_key_is_refused_without_a_prompt(pair: TLSFiles, tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ConfigurationError, match="is encrypted; devrun needs it without a pass phrase"):
        server_context(TLSFiles(pair.cert_file, encrypted))
