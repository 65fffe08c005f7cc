from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from storage import BlobHashError, BlobMissingError, BlobStore, DiskFullError


def test_put_and_read(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    info = store.put_bytes(b"segment bytes")
    assert info.sha256 == hashlib.sha256(b"segment bytes").hexdigest()
    assert store.read(info.sha256) == b"segment bytes"
    path = store.path(info.sha256)
    assert path.relative_to(tmp_path / "blobs").parts[:2] == (info.sha256[:2], info.sha256[2:4])
    assert list(store) == [info.sha256]
    assert not any((tmp_path / "blobs" / "tmp").iterdir())


def test_put_file_dedupes(tmp_path: Path) -> None:
    src = tmp_path / "seg.m4s"
    src.write_bytes(os.urandom(3 << 20))
    store = BlobStore(tmp_path / "blobs")
    a = store.put_file(src)
    b = store.put_file(src)
    assert a == b
    assert a.size == 3 << 20
    store.verify(a.sha256)


def test_changed_content_is_detected(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    info = store.put_bytes(b"original")
    store.path(info.sha256).write_bytes(b"tampered")
    with pytest.raises(BlobHashError, match="content changed"):
        store.read(info.sha256)
    with pytest.raises(BlobHashError):
        store.verify(info.sha256)
    assert store.read(info.sha256, verify=False) == b"tampered"


def test_missing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(BlobMissingError, match="missing"):
        store.read("0" * 64)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.path("../../etc/passwd")


def test_refuses_to_fill_the_disk(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", min_free_bytes=2**62)
    with pytest.raises(DiskFullError, match="reserved") as caught:
        store.put_bytes(b"x" * 1000)
    assert caught.value.hint
    assert list(store) == []
    assert not any((tmp_path / "blobs" / "tmp").iterdir())


def test_real_enospc_leaves_nothing(small_disk: Path) -> None:
    store = BlobStore(small_disk / "blobs")
    kept = store.put_bytes(b"small")
    # /dev/zero reports size 0, so the free-space check passes and the kernel's ENOSPC
    # arrives mid-write: the path a growing or mis-sized source would take.
    with pytest.raises(DiskFullError, match="is full") as caught:
        store.put_file(Path("/dev/zero"))
    assert "free disk space" in str(caught.value.hint)
    assert list(store) == [kept.sha256]
    assert not any((small_disk / "blobs" / "tmp").iterdir())
