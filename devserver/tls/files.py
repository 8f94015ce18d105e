"""Which files serve HTTPS, checked (and created when missing) before the server starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigurationError


class TLSFiles(NamedTuple):
    """A certificate and its private key; ``key_file`` None means the key is in ``cert_file``."""

    cert_file: Path
    key_file: Path | None = None

    @classmethod
    def from_settings(cls, cert_file: str | None, key_file: str | None) -> TLSFiles | None:
        """``--cert-file``/``--key-file`` (or ``CERT_FILE``/``KEY_FILE``), as absolute paths; None for plain HTTP."""
        if cert_file is None:
            if key_file is not None:
                raise ConfigurationError("--key-file needs --cert-file (the certificate that goes with the key).")
            return None
        key = Path(key_file).expanduser().absolute() if key_file is not None else None
        return cls(Path(cert_file).expanduser().absolute(), key)


def prepare_certificate(files: TLSFiles) -> str | None:
    """Create a self-signed pair when the certificate does not exist; the message saying where, or None."""
    if files.cert_file.exists():
        return None
    if files.key_file is not None and files.key_file.exists():
        raise ConfigurationError(
            f"--key-file {str(files.key_file)!r} exists but --cert-file {str(files.cert_file)!r} does not: "
            "give a certificate for that key, or paths that do not exist yet to create a new pair."
        )
    for path in filter(None, files):
        if not path.parent.is_dir():
            raise ConfigurationError(f"Cannot create {str(path)!r}: the directory {str(path.parent)!r} does not exist.")
        if not os.access(path.parent, os.W_OK):
            raise ConfigurationError(
                f"Cannot create {str(path)!r}: the directory {str(path.parent)!r} is not writable."
            )
    from .certificates import LOCAL_NAMES, write_self_signed  # needs the https extra, only now

    expires = write_self_signed(files.cert_file, files.key_file)
    key = f" and its key in {str(files.key_file)!r}" if files.key_file else " (with its key)"
    names = ", ".join(LOCAL_NAMES[:-1]) + f" and {LOCAL_NAMES[-1]}"
    return (
        f"Created a self-signed certificate for {names}, valid until {expires:%Y-%m-%d}: "
        f"{str(files.cert_file)!r}{key}. Browsers warn about it until you trust it (or accept it once)."
    )
