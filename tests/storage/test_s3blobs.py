"""The S3 blob backend against a real object store (SeaweedFS), Object Lock included."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from storage import BlobHashError, BlobMissingError
from storage.s3blobs import BlobLockedError, ObjectStoreUnavailable, S3BlobStore, S3Settings
from tests.objectstore import ACCESS_KEY, LOCKED_BUCKET, PLAIN_BUCKET, SECRET_KEY, Seaweed


def _store(seaweed: Seaweed, bucket: str = LOCKED_BUCKET) -> S3BlobStore:
    # a prefix per test: the session's buckets are shared
    return S3BlobStore.connect(
        S3Settings(seaweed.endpoint, bucket, ACCESS_KEY, SECRET_KEY, prefix=f"{uuid.uuid4()}/")
    )


def test_put_is_content_addressed_and_create_if_absent(seaweed: Seaweed) -> None:
    store = _store(seaweed)
    data = os.urandom(1_500_000)
    sha = hashlib.sha256(data).hexdigest()
    assert not store.exists(sha)
    info = store.put_bytes(data, expected=sha)
    assert (info.sha256, info.size) == (sha, len(data))
    assert store.put_bytes(data).sha256 == sha  # again: a no-op, not an error
    assert store.exists(sha)
    assert store.read(sha) == data
    store.verify(sha)
    with store.open(sha) as f:  # what bundle assembly does: readinto in chunks
        buf = bytearray(4096)
        first = f.readinto(buf)
    assert buf[:first] == data[:first]
    assert list(store) == [sha]


def test_put_file(seaweed: Seaweed, tmp_path: Path) -> None:
    store = _store(seaweed)
    path = tmp_path / "seg.m4s"
    path.write_bytes(b"segment bytes")
    info = store.put_file(path)
    assert store.read(info.sha256) == b"segment bytes"


def test_bytes_that_do_not_match_their_name_are_refused(seaweed: Seaweed) -> None:
    store = _store(seaweed)
    name = hashlib.sha256(b"the logged segment").hexdigest()
    with pytest.raises(BlobHashError, match="not the ones the log names"):
        store.put_bytes(b"something else", expected=name)
    assert not store.exists(name)


def test_missing_blob(seaweed: Seaweed) -> None:
    with pytest.raises(BlobMissingError):
        _store(seaweed).open("ab" * 32)


def test_locked_blob_cannot_be_deleted(seaweed: Seaweed) -> None:
    store = _store(seaweed)
    lock = store.lock()
    assert (lock.enabled, lock.mode, lock.days) == (True, "COMPLIANCE", 1)
    assert "compliance mode, 1 days" in lock.describe()
    info = store.put_bytes(b"evidence")
    with pytest.raises(BlobLockedError, match="Object Lock"):
        store.delete(info.sha256)
    # the plain delete left a delete marker at most: the locked version is still there
    obj = store.client.list_object_versions(Bucket=store.bucket, Prefix=store.key(info.sha256))
    assert [v["Size"] for v in obj["Versions"]] == [len(b"evidence")]


def test_plain_bucket_reports_no_lock_and_deletes(seaweed: Seaweed) -> None:
    store = _store(seaweed, PLAIN_BUCKET)
    assert not store.lock().enabled
    info = store.put_bytes(b"not evidence")
    store.delete(info.sha256)
    assert not store.exists(info.sha256)


def test_unreachable_store_is_unavailable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = S3BlobStore.connect(
        S3Settings(f"http://127.0.0.1:{port}", "b", "k", "s", timeout_seconds=1)
    )
    with pytest.raises(ObjectStoreUnavailable, match="unreachable"):
        store.put_bytes(b"x")
    with pytest.raises(ObjectStoreUnavailable):
        store.exists("ab" * 32)
