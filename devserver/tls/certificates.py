"""A self-signed certificate for local development, made with ``cryptography`` (the https extra)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Final

from ..extras import import_extra

#: Every name a browser on this machine may use for the server: the SubjectAltName entries.
LOCAL_DNS_NAMES: Final = ("localhost",)
LOCAL_ADDRESSES: Final = ("127.0.0.1", "::1")
LOCAL_NAMES: Final = LOCAL_DNS_NAMES + LOCAL_ADDRESSES
#: Apple's platforms refuse server certificates valid for longer than 825 days.
VALID_DAYS: Final = 825
#: Not-before a little in the past, so a clock a few minutes behind still accepts it.
CLOCK_SKEW: Final = datetime.timedelta(minutes=5)


def write_self_signed(cert_file: Path, key_file: Path | None) -> datetime.datetime:
    """Create a key (ECDSA P-256) and a certificate for :data:`LOCAL_NAMES`; return its expiry.

    The key goes to ``key_file``, or after the certificate in ``cert_file`` when None. Files
    are written whole (temporary file, then rename) and readable by their owner only when they
    hold the key; an existing file is never replaced.
    """
    import_extra("cryptography", extra="https", feature="Creating a certificate (--cert-file)", package="cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, LOCAL_DNS_NAMES[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "django-devrun development certificate"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    expires = now + datetime.timedelta(days=VALID_DAYS)
    alternative_names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in LOCAL_DNS_NAMES]
    alternative_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in LOCAL_ADDRESSES]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(expires)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if key_file is None:
        _write_new(cert_file, certificate_pem + key_pem, private=True)
    else:
        _write_new(key_file, key_pem, private=True)
        _write_new(cert_file, certificate_pem, private=False)
    return expires


def _write_new(path: Path, data: bytes, *, private: bool) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        if not private:
            os.chmod(temporary, 0o644)  # mkstemp made it 0600
        os.link(temporary, path)  # unlike a rename, fails if someone created the file meanwhile
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
