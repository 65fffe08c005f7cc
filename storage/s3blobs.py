"""Blobs on S3-compatible object storage: the hub's backend behind the blob-store shape.

Objects are named ``<prefix><sha256>`` and written create-if-absent (``If-None-Match:
*``): a second upload of the same blob is a no-op, never an overwrite. Every PUT carries
the blob's SHA-256 (``x-amz-checksum-sha256``), so the object store itself refuses bytes
that changed on the way; the hub hashes them before that, against the name the log gives.

When the bucket has S3 Object Lock, nothing here sets per-object retention: objects take
the bucket's default retention (compliance mode is what makes them undeletable, also by
us). :meth:`S3BlobStore.lock` reports that default, for the fleet page.

boto3 over obstore, measured (``python -m bench hub``, bench/README.md): obstore PUTs
and GETs faster per request (about 3x on 60 KB segments, 1.3x on 1.5 MB blobs), but the
object store's share of a push-to-acknowledged cycle is small (the hub's own work and
PostgreSQL dominate), and only boto3 has the Object Lock API the hub reports and tests
(the bucket's default retention, object versions). Swapping the data path to obstore
would stay inside this module.
Errors: an unreachable or failing object store is :class:`ObjectStoreUnavailable` (the
hub answers 503); a locked object that cannot be deleted is :class:`BlobLockedError`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage._errors import BlobHashError, BlobMissingError, StorageError
from storage.blobs import BlobInfo, read_blob, verify_blob

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


class ObjectStoreUnavailable(StorageError):
    """The object store did not answer, or answered with a server error: retry later."""


class BlobLockedError(StorageError):
    """An object under S3 Object Lock retention cannot be deleted (by design)."""


@dataclass(frozen=True, slots=True)
class ObjectLock:
    """The bucket's Object Lock state: ``mode`` None means no default retention."""

    enabled: bool
    mode: str | None = None  # COMPLIANCE or GOVERNANCE
    days: int | None = None
    years: int | None = None

    def describe(self) -> str:
        if not self.enabled:
            return "off (objects can be deleted by anyone with the bucket's credentials)"
        if self.mode is None:
            return "enabled, no default retention (objects are not protected)"
        span = f"{self.days} days" if self.days else f"{self.years} years"
        return f"{self.mode.lower()} mode, {span} default retention"


@dataclass(frozen=True, slots=True)
class S3Settings:
    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    prefix: str = "blobs/"
    timeout_seconds: float = 10.0


def make_client(settings: S3Settings) -> S3Client:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        region_name=settings.region,
        config=Config(
            connect_timeout=settings.timeout_seconds,
            read_timeout=settings.timeout_seconds,
            retries={"max_attempts": 2, "mode": "standard"},
            # path-style: loopback and most self-hosted stores have no bucket DNS names
            s3={"addressing_style": "path"},
            max_pool_connections=32,
        ),
    )


def _code(error: Exception) -> str:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(error: Exception) -> int:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3BlobStore:
    """Content-addressed blobs in one bucket (``exists``, ``put_bytes``, ``open``, ...)."""

    def __init__(self, client: S3Client, bucket: str, *, prefix: str = "blobs/") -> None:
        self.min_free_bytes = 0  # the Blobs protocol's reserve: none to keep on a bucket
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(cls, settings: S3Settings) -> S3BlobStore:
        return cls(make_client(settings), settings.bucket, prefix=settings.prefix)

    def key(self, sha256: str) -> str:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"blob address must be 64 lowercase hex digits, got {sha256[:70]!r}")
        return self.prefix + sha256

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as e:
            if _status(e) >= 500 or _code(e) in ("SlowDown", "ServiceUnavailable"):
                raise ObjectStoreUnavailable(
                    f"object store {self.client.meta.endpoint_url} failed to {what}: {e}",
                    hint="the hub retries; check the object store's health and disk",
                ) from e
            raise
        except BotoCoreError as e:  # connection refused, timeouts, DNS
            raise ObjectStoreUnavailable(
                f"object store {self.client.meta.endpoint_url} is unreachable ({what}): {e}",
                hint="start the object store or fix hub.object_store.endpoint",
            ) from e

    # -- writing ---------------------------------------------------------------------

    def put_bytes(self, data: bytes, expected: str | None = None) -> BlobInfo:
        """Store ``data`` under its SHA-256 (create-if-absent); ``expected`` must match it."""
        from botocore.exceptions import ClientError

        digest = hashlib.sha256(data).digest()
        sha = digest.hex()
        if expected is not None and expected != sha:
            raise BlobHashError(
                f"blob named {expected} hashes to {sha}: its bytes are not the ones the log names",
                hint="the upload was corrupted or is not this blob; send the stored file again",
            )
        try:
            self._call(
                "store a blob",
                self.client.put_object,
                Bucket=self.bucket,
                Key=self.key(sha),
                Body=data,
                IfNoneMatch="*",
                ChecksumSHA256=base64.b64encode(digest).decode(),
            )
        except ClientError as e:
            # 412: already there (create-if-absent); 409: a concurrent create of the same
            # name won. Either way the object under this name was checked on its arrival.
            if _status(e) not in (409, 412) and _code(e) not in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                raise StorageError(f"object store refused blob {sha}: {e}") from e
        return BlobInfo(sha, len(data))

    def put_file(self, source: Path) -> BlobInfo:
        return self.put_bytes(source.read_bytes())

    def delete(self, sha256: str) -> None:
        """Delete every version of the blob; under Object Lock this raises, as it should."""
        from botocore.exceptions import ClientError

        key = self.key(sha256)
        listing = self._call(
            "list versions", self.client.list_object_versions, Bucket=self.bucket, Prefix=key
        )
        versions = [
            v
            for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
            if v["Key"] == key
        ]
        try:
            if not versions:
                self._call("delete a blob", self.client.delete_object, Bucket=self.bucket, Key=key)
            for v in versions:
                self._call(
                    "delete a blob",
                    self.client.delete_object,
                    Bucket=self.bucket,
                    Key=key,
                    VersionId=v["VersionId"],
                )
        except ClientError as e:
            if _code(e) == "AccessDenied" or _status(e) == 403:
                raise BlobLockedError(
                    f"blob {sha256} is under Object Lock retention in bucket {self.bucket}: "
                    "the object store refused to delete it",
                    hint="locked evidence cannot be deleted before its retention ends",
                ) from e
            raise StorageError(f"cannot delete blob {sha256}: {e}") from e

    # -- reading ---------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        try:
            self.size(sha256)
        except BlobMissingError:
            return False
        return True

    def size(self, sha256: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self._call(
                "look up a blob", self.client.head_object, Bucket=self.bucket, Key=self.key(sha256)
            )
        except ClientError as e:
            if _status(e) == 404:
                raise BlobMissingError(f"blob {sha256} is missing from bucket {self.bucket}") from e
            raise StorageError(f"cannot look up blob {sha256}: {e}") from e
        return int(head["ContentLength"])

    def free_bytes(self) -> int:
        """An object store reports no free space: as much as a 64-bit count holds."""
        return 2**63 - 1

    def open(self, sha256: str) -> io.BufferedReader:
        from botocore.exceptions import ClientError

        try:
            got = self._call(
                "read a blob", self.client.get_object, Bucket=self.bucket, Key=self.key(sha256)
            )
        except ClientError as e:
            if _status(e) == 404:
                raise BlobMissingError(f"blob {sha256} is missing from bucket {self.bucket}") from e
            raise StorageError(f"cannot read blob {sha256}: {e}") from e
        return io.BufferedReader(_Body(got["Body"]), _CHUNK)

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        return read_blob(self.open, sha256, verify=verify, where=" in the object store")

    def verify(self, sha256: str) -> None:
        verify_blob(self.open, sha256, where=" in the object store")

    def __iter__(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if _SHA256.fullmatch(name):
                    yield name

    def lock(self) -> ObjectLock:
        """The bucket's Object Lock configuration (its default retention)."""
        from botocore.exceptions import ClientError

        try:
            got = self._call(
                "read the Object Lock configuration",
                self.client.get_object_lock_configuration,
                Bucket=self.bucket,
            )
        except ClientError as e:
            if "ObjectLockConfigurationNotFound" in _code(e) or _status(e) == 404:
                return ObjectLock(False)
            raise StorageError(f"cannot read bucket {self.bucket}'s Object Lock state: {e}") from e
        config = got.get("ObjectLockConfiguration", {})
        retention = config.get("Rule", {}).get("DefaultRetention", {})
        return ObjectLock(
            config.get("ObjectLockEnabled") == "Enabled",
            retention.get("Mode"),
            retention.get("Days"),
            retention.get("Years"),
        )


class _Body(io.RawIOBase):
    """A botocore streaming body as a raw stream, so readers can ``readinto``."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._body.close()
        super().close()


__all__ = [
    "BlobLockedError",
    "ObjectLock",
    "ObjectStoreUnavailable",
    "S3BlobStore",
    "S3Settings",
    "make_client",
]
