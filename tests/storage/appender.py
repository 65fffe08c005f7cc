"""The writer tests/storage/test_crash.py SIGKILLs: whole batches of entries, for ever."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import Ed25519Signer, Store
from storage.entries import Gap


def append_batches(url: str, blobs: str, origin: str, key_pem: str, size: int) -> None:
    """Append batches of ``size`` gaps, a checkpoint every 7th; print each batch's number
    once it is committed (``ready`` first, once the store is open)."""
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, Ed25519PrivateKey)
    signer = Ed25519Signer(origin, key)
    store = Store.open(url, blobs, origin)
    batch = store.size() // size
    print("ready", flush=True)
    while True:
        store.append(
            [
                Gap(batch, batch, batch + 1, "restart", None, f"batch {batch} item {j}")
                for j in range(size)
            ]
        )
        if batch % 7 == 0:
            store.sign_checkpoint(signer, batch)
        print(batch, flush=True)
        batch += 1
