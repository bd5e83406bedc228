"""Which CA certificates model sync trusts for HTTPS, found as curl and requests find them.

In order: `PODKIT_CA_BUNDLE`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` (a PEM
file, or a hashed directory as `c_rehash` makes), then the system's bundle, then certifi's.
The first variable that is set wins, and one that names nothing is an error rather than a
silent fall-back to another store. libcurl's own default path is never used: the pycurl wheel
was built for a path that Debian-based images do not have.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VARIABLES = ("PODKIT_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL 7+
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine
)


class CaBundleError(Exception):
    """A CA variable names a file or directory that does not exist."""

    def __init__(self, variable: str, path: str) -> None:
        super().__init__(
            f"{variable}={path}: no such file or directory (it should name the PEM file of the "
            "CA certificates to trust)"
        )
        self.variable = variable
        self.hint = f"point {variable} at an existing PEM file, or unset it"


@dataclass(frozen=True)
class CaBundle:
    """A PEM file or a hashed directory of certificates, and where the choice came from."""

    file: str | None
    directory: str | None
    source: str


def find_ca_bundle(
    environ: Mapping[str, str] | None = None, system: tuple[str, ...] = SYSTEM_BUNDLES
) -> CaBundle:
    """The CA certificates to trust, by the order in the module's docstring."""
    env = os.environ if environ is None else environ
    for variable in VARIABLES:
        path = env.get(variable, "")
        if not path:
            continue
        if Path(path).is_dir():
            return CaBundle(None, path, variable)
        if Path(path).is_file():
            return CaBundle(path, None, variable)
        raise CaBundleError(variable, path)
    for path in system:
        if Path(path).is_file():
            return CaBundle(path, None, "system")
    return _certifi()


def _certifi() -> CaBundle:
    try:
        import certifi
    except ImportError:
        return CaBundle(None, None, "none")
    return CaBundle(certifi.where(), None, "certifi")
