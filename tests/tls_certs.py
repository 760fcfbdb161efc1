"""Test certificates made at run time (no key is ever committed), with the `cryptography` package.

``make_pki(directory)`` writes PEM files for:

* ``ca``: the test CA every good certificate is signed by;
* ``server``: a certificate for ``localhost`` with DNS and IP subjectAltNames (Debian's
  nngcat uses mbedTLS, which matches host names only through DNS subjectAltNames);
* ``client``: a client certificate signed by ``ca``, for servers that require one;
* ``rogue_ca`` / ``rogue_server``: a second, untrusted CA and a ``localhost`` certificate
  it signed (what an impostor would present);
* ``other_name``: a certificate from ``ca`` for ``example.invalid`` only (wrong host).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """Paths of the generated PEM files."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    rogue_ca: str
    rogue_cert: str
    rogue_key: str
    other_cert: str
    other_key: str


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(subject: str, key, issuer: Optional[Tuple[x509.Name, object]], *, ca: bool,
           dns: Tuple[str, ...] = (), ips: Tuple[str, ...] = (), client: bool = False):
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, issuer_key = issuer if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False), critical=True)
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i))
                                               for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(directory: Path, stem: str, cert, key) -> Tuple[str, str]:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


def make_pki(directory: Path) -> Pki:
    """Generate every test certificate into ``directory`` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)

    def new_key():
        return ec.generate_private_key(ec.SECP256R1())

    ca_key, rogue_ca_key = new_key(), new_key()
    ca_cert = _issue("nanopy test CA", ca_key, None, ca=True)
    rogue_ca_cert = _issue("nanopy rogue CA", rogue_ca_key, None, ca=True)
    ca_path, _ = _write(directory, "ca", ca_cert, ca_key)
    rogue_ca_path, _ = _write(directory, "rogue-ca", rogue_ca_cert, rogue_ca_key)
    issued = {}
    for stem, issuer, subject, dns, ips, client in (
        ("server", (ca_cert.subject, ca_key), "localhost", ("localhost",), ("127.0.0.1", "::1"),
         False),
        ("client", (ca_cert.subject, ca_key), "nanopy test client", (), (), True),
        ("rogue", (rogue_ca_cert.subject, rogue_ca_key), "localhost", ("localhost",),
         ("127.0.0.1",), False),
        ("other", (ca_cert.subject, ca_key), "example.invalid", ("example.invalid",), (),
         False),
    ):
        key = new_key()
        issued[stem] = _write(directory, stem,
                              _issue(subject, key, issuer, ca=False, dns=dns, ips=ips,
                                     client=client), key)
    return Pki(ca=ca_path, server_cert=issued["server"][0], server_key=issued["server"][1],
               client_cert=issued["client"][0], client_key=issued["client"][1],
               rogue_ca=rogue_ca_path, rogue_cert=issued["rogue"][0],
               rogue_key=issued["rogue"][1], other_cert=issued["other"][0],
               other_key=issued["other"][1])
