"""A self-signed TLS certificate for nginx in docker-compose, made on first start.

    python -m socapp.selfsigned --dir /certs --hostname localhost [--hostname soc.lan]

writes ``tls.crt`` and ``tls.key`` (P-256, SHA-256, 397 days, the hostnames and
127.0.0.1/::1 as subject alternative names) unless both already exist, so a restart
keeps the certificate browsers were told to trust. Replace the two files with a real
certificate for anything beyond evaluation. No Django here: the compose one-shot
service runs it before anything else is configured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "tls.crt"
KEY_NAME = "tls.key"
VALID_DAYS = 397  # the longest browsers accept for a server certificate
_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, key_cert_sign=True, key_encipherment=False,
    content_commitment=False, data_encipherment=False, key_agreement=False,
    crl_sign=False, encipher_only=False, decipher_only=False,
)  # fmt: skip


def _alternative_names(hostnames: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for name in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    for loopback in ("127.0.0.1", "::1"):
        address = x509.IPAddress(ipaddress.ip_address(loopback))
        if address not in names:
            names.append(address)
    return x509.SubjectAlternativeName(names)


def make_certificate(hostnames: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for ``hostnames``; the first is the subject."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "socapp self-signed"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(_alternative_names(hostnames), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Strict verifiers (OpenSSL's X509_STRICT: urllib3 2, Python 3.13) want both.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_certificate(directory: Path, hostnames: list[str]) -> bool:
    """Write a certificate and key into ``directory`` unless both are there; True if
    new ones were written."""
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = make_certificate(hostnames)
    # The key is readable by its owner only; nginx's master process reads it as root.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="where tls.crt and tls.key go")
    parser.add_argument(
        "--hostname", action="append", help="a name (or address) of the site; repeatable"
    )
    args = parser.parse_args(argv)
    hostnames = [h.strip() for h in (args.hostname or ["localhost"]) if h.strip()]
    if ensure_certificate(args.dir, hostnames):
        print(f"wrote a self-signed certificate for {', '.join(hostnames)} in {args.dir}")
    else:
        print(f"kept the certificate already in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
