"""A throw-away PKI (CA, server and client certificates) built with the ``openssl`` command line tool."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Short-lived certificates: the PKI lives in a pytest tmp directory and never outlives a test session.
_DAYS = "7"
# EC keys are generated in milliseconds (RSA-2048 takes far longer); EC leaves need only digitalSignature.
_KEY_ARGS = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")

# Our own minimal configs, so the result does not depend on the distribution's openssl.cnf.
_CA_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = edge-agent test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
_CSR_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
"""
_LEAF_EXTENSIONS = """\
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
{san}
"""


def _openssl(*args: str, cwd: Path) -> None:
    """Run one openssl command; raise with its stderr so a broken PKI is easy to diagnose."""
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("openssl is not installed; the integration tests need the openssl CLI")
    result = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


@dataclass(frozen=True)
class TestPki:
    """Paths of a test CA and a server certificate for ``localhost`` / ``127.0.0.1``."""

    __test__ = False  # the name starts with "Test": keep pytest from collecting it

    directory: Path
    ca_file: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    def client_cert(self, name: str) -> tuple[Path, Path]:
        """Issue a client certificate with CN=*name*; return ``(cert_path, key_path)``."""
        return _issue(self, name, usage="clientAuth", san="")


def _issue(pki: TestPki, name: str, *, usage: str, san: str) -> tuple[Path, Path]:
    """Create a key, a CSR and a CA-signed leaf certificate named after *name*."""
    directory = pki.directory
    key, csr, cert = (directory / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    ext_file = directory / f"{name}.ext.cnf"
    ext_file.write_text(_LEAF_EXTENSIONS.format(usage=usage, san=san))
    csr_config = directory / "csr.cnf"
    csr_config.write_text(_CSR_CONFIG)
    _openssl(
        "req",
        "-new",
        "-config",
        str(csr_config),
        "-subj",
        f"/CN={name}",
        *_KEY_ARGS,
        "-keyout",
        str(key),
        "-out",
        str(csr),
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(pki.ca_file),
        "-CAkey",
        str(pki.ca_key),
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-extfile",
        str(ext_file),
        "-extensions",
        "leaf",
        "-out",
        str(cert),
        cwd=directory,
    )
    # The broker may run as another user than the test; test keys guard nothing, so make them readable.
    key.chmod(0o644)
    return cert, key


def make_test_pki(directory: Path) -> TestPki:
    """Create a CA and a server cert (CN=localhost, SAN DNS:localhost + IP:127.0.0.1) in *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_config = directory / "ca.cnf"
    ca_config.write_text(_CA_CONFIG)
    ca_file, ca_key = directory / "ca.crt", directory / "ca.key"
    _openssl(
        "req",
        "-x509",
        "-new",
        "-config",
        str(ca_config),
        *_KEY_ARGS,
        "-days",
        _DAYS,
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_file),
        cwd=directory,
    )
    partial = TestPki(directory, ca_file, ca_key, directory / "localhost.crt", directory / "localhost.key")
    _issue(partial, "localhost", usage="serverAuth", san="subjectAltName = DNS:localhost,IP:127.0.0.1")
    return partial
