"""A throw-away PKI for the TLS tests: a CA, a server and a client certificate.

Built with ``cryptography`` (EC P-256 keys: a few milliseconds, where RSA or
the openssl CLI would take much longer).  Leaf certificates carry no extended
key usage, so the server certificate also works as a client certificate (a
replica presents tls-cert-file to its master when tls-client-cert-file is not
set, as Redis does).  docs/tls.md shows the same with the openssl CLI.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_PASSPHRASE = "s3cret pass"


class Certs:
    """Paths of the PEM files written by :func:`make_certs`."""

    def __init__(self, d: Path):
        self.dir = d
        self.ca = str(d / "ca.crt")
        self.server_cert = str(d / "server.crt")
        self.server_key = str(d / "server.key")
        self.server_key_encrypted = str(d / "server-encrypted.key")
        self.client_cert = str(d / "client.crt")
        self.client_key = str(d / "client.key")
        self.other_ca = str(d / "other-ca.crt")      # a CA that signed nothing we use
        self.other_cert = str(d / "other.crt")       # a client certificate from other-ca
        self.other_key = str(d / "other.key")

    def server_args(self, **extra) -> list[str]:
        """tls-* command-line options for redis-server and RedisLite alike."""
        args = ["--tls-cert-file", self.server_cert, "--tls-key-file", self.server_key,
                "--tls-ca-cert-file", self.ca]
        for name, value in extra.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        return args

    def cli_args(self, cert: bool = True) -> list[str]:
        """redis-cli's TLS options."""
        args = ["--tls", "--cacert", self.ca]
        if cert:
            args += ["--cert", self.client_cert, "--key", self.client_key]
        return args


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key, passphrase: str | None = None) -> None:
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, enc))


def _cert(subject, key, issuer, issuer_key, ca: bool, sans=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write_cert(path: Path, cert) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_certs(d: Path) -> Certs:
    d.mkdir(parents=True, exist_ok=True)
    c = Certs(d)
    ca_key = _key()
    _write_cert(Path(c.ca), _cert("RedisLite Test CA", ca_key, "RedisLite Test CA", ca_key, True))
    server_key = _key()
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    _write_cert(Path(c.server_cert), _cert("localhost", server_key, "RedisLite Test CA", ca_key, False, sans))
    _write_key(Path(c.server_key), server_key)
    _write_key(Path(c.server_key_encrypted), server_key, KEY_PASSPHRASE)
    client_key = _key()
    _write_cert(Path(c.client_cert), _cert("client", client_key, "RedisLite Test CA", ca_key, False))
    _write_key(Path(c.client_key), client_key)
    other_ca_key = _key()
    _write_cert(Path(c.other_ca), _cert("Other CA", other_ca_key, "Other CA", other_ca_key, True))
    other_key = _key()
    _write_cert(Path(c.other_cert), _cert("intruder", other_key, "Other CA", other_ca_key, False))
    _write_key(Path(c.other_key), other_key)
    return c
