"""PyInstaller runtime hook (Linux): let the bundled OpenSSL find the system's CA certificates.

The bundle carries the build host's OpenSSL (Python's ``_ssl`` was built against it), which
looks for certificates where that distribution keeps them (``/usr/lib/ssl`` on Debian and
Ubuntu). On Fedora, openSUSE or Arch they are elsewhere, and every ``wss://`` connection
would fail certificate verification. If the compiled-in locations hold nothing and the user
set neither ``SSL_CERT_FILE`` nor ``SSL_CERT_DIR``, point ``SSL_CERT_FILE`` at the bundle of
the distribution this runs on.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping

#: Where distributions keep the PEM bundle of trusted CAs.
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # Alpine, Arch
)


def choose_ca_bundle(
    cafile: str | None,
    capath: str | None,
    env: Mapping[str, str],
    is_file: Callable[[str], bool] = os.path.isfile,
    has_files: Callable[[str], bool] = lambda d: os.path.isdir(d) and bool(os.listdir(d)),
) -> str | None:
    """The file to put in SSL_CERT_FILE, or None when OpenSSL already finds certificates."""
    if env.get("SSL_CERT_FILE") or env.get("SSL_CERT_DIR"):
        return None
    if (cafile and is_file(cafile)) or (capath and has_files(capath)):
        return None
    return next((path for path in CA_BUNDLES if is_file(path)), None)


def _apply() -> None:
    paths = ssl.get_default_verify_paths()
    chosen = choose_ca_bundle(paths.cafile, paths.capath, os.environ)
    if chosen is not None:
        os.environ["SSL_CERT_FILE"] = chosen


_apply()
