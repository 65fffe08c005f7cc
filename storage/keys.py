"""Ed25519 key files: PKCS#8 PEM, created with mode 0600, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage._errors import KeyFileError
from storage.note import Ed25519Signer


def generate_key_file(path: Path) -> Ed25519PrivateKey:
    """Create a new private key at ``path`` (mode 0600); never overwrite an existing one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise KeyFileError(
            f"key file {path} already exists; refusing to overwrite a key",
            hint="keys sign evidence: move the old one away yourself if you really mean it",
        ) from e
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load a private key, refusing one that group or others may read or write."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise KeyFileError(
            f"key file {path} does not exist", hint="run `packseal init` to create the keys"
        ) from e
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: others can access a "
            "private key; refusing to use it",
            hint=f"chmod 600 {path} (and consider the key exposed if others could read it)",
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"key file {path} is not an unencrypted PEM private key: {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} holds a {type(key).__name__}, expected Ed25519")
    return key


def load_signer(path: Path, name: str) -> Ed25519Signer:
    return Ed25519Signer(name, load_private_key(path))
