"""The self-signed certificate: names, key, validity, file modes, and a client that verifies it."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from devserver.tls.certificates import VALID_DAYS, write_self_signed
from devserver.tls.context import server_context
from devserver.tls.files import TLSFiles

from .test_context import handshake


def subject_alt_names(path: Path) -> list[str]:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in names]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_certificate_names_localhost_and_both_loopback_addresses(pair: TLSFiles) -> None:
    assert subject_alt_names(pair.cert_file) == ["localhost", "127.0.0.1", "::1"]


def test_it_is_a_server_certificate_valid_from_now(pair: TLSFiles) -> None:
    certificate = x509.load_pem_x509_certificate(pair.cert_file.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    assert certificate.not_valid_before_utc < now < certificate.not_valid_after_utc
    assert certificate.not_valid_after_utc - now > datetime.timedelta(days=VALID_DAYS - 1)
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_the_key_is_private_and_the_certificate_readable(pair: TLSFiles, combined: Path) -> None:
    assert pair.key_file is not None
    assert mode(pair.key_file) == 0o600
    assert mode(pair.cert_file) == 0o644
    assert mode(combined) == 0o600  # it holds the key


def test_a_combined_file_holds_certificate_then_key(combined: Path) -> None:
    text = combined.read_text()
    assert text.index("BEGIN CERTIFICATE") < text.index("BEGIN PRIVATE KEY")
    server_context(TLSFiles(combined))  # loads: the key belongs to the certificate


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "::1"])
def test_a_client_trusting_it_verifies_every_local_name(pair: TLSFiles, name: str) -> None:
    client = ssl.create_default_context(cafile=str(pair.cert_file))
    handshake(server_context(pair), client, server_hostname=name)


def test_a_client_trusting_it_refuses_another_name(pair: TLSFiles) -> None:
    client = ssl.create_default_context(cafile=str(pair.cert_file))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"example\.com"):
        handshake(server_context(pair), client, server_hostname="example.com")


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "dev.pem"
    path.write_text("mine")
    with pytest.raises(FileExistsError):
        write_self_signed(path, None)
    assert path.read_text() == "mine"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_ip_addresses_are_ip_entries_not_names(pair: TLSFiles) -> None:
    certificate = x509.load_pem_x509_certificate(pair.cert_file.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
