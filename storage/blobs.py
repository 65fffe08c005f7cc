"""A content-addressed blob store: files named by their SHA-256, written durably.

A blob is written to a temporary name in the store, fsynced, renamed to
``<root>/<aa>/<bb>/<sha256>`` and its directory fsynced, so after a crash a blob is
either absent or complete. The store refuses a write that would leave less than
``min_free_bytes`` free, and turns ENOSPC into :class:`DiskFullError`: in both cases no
partial file remains.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import IO, Protocol

from storage._errors import BlobHashError, BlobMissingError, DiskFullError, StorageError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BlobInfo:
    sha256: str
    size: int


def blob_path(root: Path, sha256: str) -> Path:
    """Where a file blob backend rooted at ``root`` keeps the blob ``sha256``."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"blob address must be 64 lowercase hex digits, got {sha256[:70]!r}")
    return root / sha256[:2] / sha256[2:4] / sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_blob(
    open_blob: Callable[[str], BufferedReader], sha256: str, *, verify: bool, where: str
) -> bytes:
    """A blob's bytes from any backend's ``open``, re-hashed against its name unless
    ``verify`` is off (``where`` ends the error: what the mismatch says about the backend)."""
    with open_blob(sha256) as f:
        data = f.read()
    if verify:
        found = hashlib.sha256(data).hexdigest()
        if found != sha256:
            raise BlobHashError(f"blob {sha256} hashes to {found}{where}")
    return data


def verify_blob(open_blob: Callable[[str], BufferedReader], sha256: str, *, where: str) -> None:
    """Re-hash a blob in a stream, without holding it."""
    with open_blob(sha256) as f:
        found = hashlib.file_digest(f, "sha256").hexdigest()
    if found != sha256:
        raise BlobHashError(f"blob {sha256} hashes to {found}{where}")


class Blobs(Protocol):
    """What :class:`~storage.store.Store` needs of a blob backend: content-addressed
    blobs by SHA-256 (64 lowercase hex digits), stored create-if-absent.

    :class:`BlobStore` keeps them as files; another backend (an S3-compatible object
    store) implements the same methods. ``open`` returns a seekable reader (a remote
    backend wraps its stream in ``io.BufferedReader``); ``read``, ``open`` and ``size``
    raise :class:`BlobMissingError` for an absent blob.
    """

    min_free_bytes: int  # the room a backend keeps free (0: no reserve)

    def put_file(self, source: Path) -> BlobInfo: ...
    def put_bytes(self, data: bytes) -> BlobInfo: ...
    def read(self, sha256: str, *, verify: bool = True) -> bytes: ...
    def open(self, sha256: str) -> BufferedReader: ...
    def size(self, sha256: str) -> int: ...
    def exists(self, sha256: str) -> bool: ...
    def delete(self, sha256: str) -> None: ...
    def free_bytes(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...


class BlobStore:
    """Blobs as files: ``<root>/<2 hex>/<2 hex>/<sha256>``, written to a temp name,
    fsynced, then renamed."""

    def __init__(self, root: Path, *, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return blob_path(self.root, sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def free_bytes(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize

    def check_room(self, size: int) -> None:
        free = self.free_bytes()
        if free - size < self.min_free_bytes:
            raise DiskFullError(
                f"blob store {self.root} has {free // 2**20} MiB free; storing {size} bytes "
                f"would leave less than the reserved {self.min_free_bytes // 2**20} MiB",
                hint="free disk space, move storage.blob_dir to a larger disk, "
                "or shorten retention",
            )

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self._put(lambda out: out.write(data), len(data))

    def put_file(self, source: Path) -> BlobInfo:
        """Copy ``source`` into the store (hashing while copying)."""
        size = source.stat().st_size

        def copy(out: _HashingWriter) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)

        return self._put(copy, size)

    def _put(self, write: Callable[[_HashingWriter], object], size: int) -> BlobInfo:
        self.check_room(size)
        tmp_path: Path | None = None
        try:
            with tempfile.NamedTemporaryFile(dir=self._tmp, delete=False) as tmp:
                tmp_path = Path(tmp.name)
                hasher = _HashingWriter(tmp)
                write(hasher)
                tmp.flush()
                os.fsync(tmp.fileno())
            info = BlobInfo(hasher.hexdigest(), hasher.size)
            final = self.path(info.sha256)
            if not final.is_file():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_path, final)
                tmp_path = None
                _fsync_dir(final.parent)
            return info
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(
                    f"blob store {self.root} is full: {e.strerror}; the blob was not stored",
                    hint="free disk space or move storage.blob_dir to a larger disk",
                ) from e
            raise StorageError(f"cannot write a blob in {self.root}: {e}") from e
        finally:
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)

    def open(self, sha256: str) -> BufferedReader:
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError as e:
            raise BlobMissingError(f"blob {sha256} is missing from {self.root}") from e

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError as e:
            raise BlobMissingError(f"blob {sha256} is missing from {self.root}") from e

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        return read_blob(self.open, sha256, verify=verify, where=": its content changed on disk")

    def verify(self, sha256: str) -> None:
        verify_blob(self.open, sha256, where=": its content changed on disk")

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def __iter__(self) -> Iterator[str]:
        for path in self.root.glob("??/??/*"):
            if _SHA256.fullmatch(path.name):
                yield path.name


class _HashingWriter:
    """Hashes what passes through, so a blob is read once while it is stored."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._out.write(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
