"""X.509 for C2PA Content Credentials: a merchant CA and a station signing certificate.

C2PA signs with X.509 certificates, not note keys. The merchant CA certificate is
self-signed by the merchant *root* key (Ed25519), so the CA a reviewer trusts for C2PA is
the same key that certifies station keys in the log; the station certificate (ES256 or
Ed25519, its own key) is issued by it with digitalSignature and the emailProtection EKU.
c2pa refuses a self-signed leaf; CA + leaf with these extensions reads as ``Trusted``
once the CA is a trust anchor (FIELD-NOTES). Issuing is pure (``now`` is a parameter);
:func:`write_credentials` stores the files, private keys with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from storage._errors import FormatError, KeyFileError

Algorithm = Literal["es256", "ed25519"]
StationKeyType = ec.EllipticCurvePrivateKey | Ed25519PrivateKey
CA_YEARS = 10
STATION_DAYS = 825  # the CA/Browser ceiling for leaves, a habit C2PA validators share


def _name(common: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
        ]
    )


def _usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue_ca(root: Ed25519PrivateKey, merchant: str, now: dt.datetime) -> x509.Certificate:
    """The merchant CA: self-signed by the merchant root key, valid ``CA_YEARS``."""
    subject = _name(f"{merchant} packseal root", merchant)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(root.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root.public_key()), False)
        .sign(root, None)
    )


def generate_station_key(alg: Algorithm) -> StationKeyType:
    if alg == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ed25519":
        return Ed25519PrivateKey.generate()
    raise ValueError(f"C2PA algorithm must be es256 or ed25519, got {alg!r}")


def issue_station(
    ca: x509.Certificate,
    root: Ed25519PrivateKey,
    key: StationKeyType,
    station: str,
    merchant: str,
    now: dt.datetime,
) -> x509.Certificate:
    """The station's C2PA signing certificate, issued by the merchant CA."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(station, merchant))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=STATION_DAYS), ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), False)
        .sign(root, None)
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class C2paCredentials:
    """What c2pa needs to sign: the algorithm, leaf + CA chain (PEM) and the leaf's key."""

    alg: Algorithm
    chain_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]


@dataclass(frozen=True, slots=True)
class CredentialFiles:
    ca: Path  # the merchant CA certificate (publish it: it goes into the trust file)
    chain: Path  # station certificate followed by the CA certificate
    key: Path  # the station's C2PA private key, mode 0600

    @classmethod
    def under(cls, keys_dir: Path) -> CredentialFiles:
        return cls(keys_dir / "c2pa-ca.pem", keys_dir / "c2pa-chain.pem", keys_dir / "c2pa.key")


def write_credentials(
    files: CredentialFiles,
    root: Ed25519PrivateKey,
    *,
    alg: Algorithm,
    station: str,
    merchant: str,
    now: dt.datetime,
) -> C2paCredentials:
    """Issue a CA (or reuse the existing CA file) and a new station certificate; store them.

    Refuses to overwrite an existing station key: certificates are cheap, but a key that
    signed Content Credentials is evidence of who signed them.
    """
    if files.key.exists():
        raise KeyFileError(
            f"C2PA key {files.key} already exists; refusing to overwrite it",
            hint="move the old key and chain away yourself to issue a new one",
        )
    ca = None
    if files.ca.exists():
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        if ca.public_key() != root.public_key():
            raise KeyFileError(
                f"{files.ca} is a CA certificate for another key than the merchant root",
                hint="move it away to issue a new CA from this root",
            )
    ca = ca or issue_ca(root, merchant, now)
    key = generate_station_key(alg)
    leaf = issue_station(ca, root, key, station, merchant, now)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    files.key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(files.key, key_pem, 0o600)
    _write_replace(files.ca, pem(ca), 0o644)
    _write_replace(files.chain, pem(leaf) + pem(ca), 0o644)
    return C2paCredentials(alg, pem(leaf) + pem(ca), key_pem)


def load_credentials(
    files: CredentialFiles,
    *,
    issue_hint: str = "issue the station's certificate with `packseal keys x509`",
) -> C2paCredentials:
    for path in (files.chain, files.key):
        if not path.exists():
            raise KeyFileError(f"C2PA file {path} does not exist", hint=issue_hint)
    mode = stat.S_IMODE(files.key.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"C2PA key {files.key} has mode {mode:04o}: others can access a private key",
            hint=f"chmod 600 {files.key}",
        )
    key_pem = files.key.read_bytes()
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        chain = x509.load_pem_x509_certificates(files.chain.read_bytes())
    except ValueError as e:
        raise KeyFileError(f"C2PA key or chain is not PEM: {e}") from e
    if isinstance(key, Ed25519PrivateKey):
        alg: Algorithm = "ed25519"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        alg = "es256"
    else:
        raise KeyFileError(f"C2PA key {files.key} is not an ES256 or Ed25519 key")
    if chain[0].public_key() != key.public_key():
        raise KeyFileError(f"{files.chain} does not start with the certificate of {files.key}")
    return C2paCredentials(alg, files.chain.read_bytes(), key_pem)


def issued_by_root(creds: C2paCredentials, roots: list[bytes] | tuple[bytes, ...]) -> bool:
    """Whether the chain ends in a merchant CA of one of ``roots`` (raw Ed25519 keys)
    that issued its first certificate: the CA a trust file's ``c2pa_roots`` lists."""
    chain = x509.load_pem_x509_certificates(creds.chain_pem)
    ca = chain[-1].public_key()
    if len(chain) < 2 or not isinstance(ca, Ed25519PublicKey):
        return False
    raw = ca.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if raw not in roots:
        return False
    try:
        chain[0].verify_directly_issued_by(chain[-1])
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_pem_certificates(pems: list[str] | tuple[str, ...], what: str) -> list[x509.Certificate]:
    out = []
    for i, text in enumerate(pems):
        try:
            out.extend(x509.load_pem_x509_certificates(text.encode()))
        except ValueError as e:
            raise FormatError(f"{what} {i + 1} is not a PEM certificate: {e}") from e
    return out


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_replace(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, data, mode)
    os.replace(tmp, path)


__all__ = [
    "Algorithm",
    "C2paCredentials",
    "CredentialFiles",
    "issue_ca",
    "issue_station",
    "issued_by_root",
    "load_credentials",
    "load_pem_certificates",
    "write_credentials",
]
