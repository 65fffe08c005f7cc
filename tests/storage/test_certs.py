"""The merchant CA and station certificate for C2PA, and their files."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID

from storage import KeyFileError
from storage.certs import CredentialFiles, load_credentials, write_credentials

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("alg", ["es256", "ed25519"])
def test_chain_is_ca_plus_leaf_from_the_merchant_root(alg: str, tmp_path: Path) -> None:
    root = Ed25519PrivateKey.generate()
    files = CredentialFiles.under(tmp_path / "keys")
    creds = write_credentials(
        files,
        root,
        alg=alg,
        station="station-01",
        merchant="Acme Shop",
        now=NOW,  # type: ignore[arg-type]
    )
    leaf, ca = x509.load_pem_x509_certificates(creds.chain_pem)
    assert ca.public_key() == root.public_key()  # the CA *is* the merchant root key
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(ca)
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert load_credentials(files) == creds


def test_never_overwrites_a_key_and_refuses_readable_keys(tmp_path: Path) -> None:
    root = Ed25519PrivateKey.generate()
    files = CredentialFiles.under(tmp_path)
    write_credentials(files, root, alg="es256", station="s", merchant="m", now=NOW)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        write_credentials(files, root, alg="es256", station="s", merchant="m", now=NOW)
    files.key.chmod(0o644)
    with pytest.raises(KeyFileError, match="mode 0644"):
        load_credentials(files)


def test_the_ca_file_of_another_root_is_refused(tmp_path: Path) -> None:
    files = CredentialFiles.under(tmp_path)
    write_credentials(
        files, Ed25519PrivateKey.generate(), alg="es256", station="s", merchant="m", now=NOW
    )
    files.key.unlink()
    with pytest.raises(KeyFileError, match="another key"):
        write_credentials(
            files, Ed25519PrivateKey.generate(), alg="es256", station="s", merchant="m", now=NOW
        )
