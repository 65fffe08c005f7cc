"""The audit's media checks: every blob the log names, on disk, hashing to its name.

Segment blobs are hashed by worker threads (hashlib and file reads release the GIL) in
batches, a few batches ahead of the log stream; init sections once each, when first
named. Missing media is kept as ranges of segment numbers and, after the pass, held
against the purge entries: covered is policy (info), not covered is tampering or a lost
disk (error). An init section may go once every segment that needs it was purged.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from storage.blobs import blob_path
from storage.entries import Purge, Segment
from storage.facts import rfc3339
from verifier._audit_report import Add, AuditStats

# Blobs go to the hashing threads in batches (a task per blob cost more in queueing
# than a small blob costs to hash), a few batches ahead of the log stream.
_HASH_BATCH = 64
_HASH_AHEAD = 4


Seen = tuple[int, Segment]  # (log index, entry): what the audit keeps of a segment
Range = tuple[int, int, int]  # [lo, hi] of segment numbers, and the log index of lo
Probed = tuple[int | None, str | None]  # (size, sha256 hex) of a file, or (None, None)


class Ranges:
    """Segment numbers as ranges with the log index of their first member: O(ranges)."""

    def __init__(self) -> None:
        self.items: list[list[int]] = []  # [lo, hi, index]

    def add(self, value: int, index: int) -> None:
        if self.items and self.items[-1][1] + 1 == value:
            self.items[-1][1] = value
        else:
            self.items.append([value, value, index])

    def add_range(self, lo: int, hi: int, index: int) -> None:
        self.items.append([lo, hi, index])

    def merged(self) -> list[Range]:
        return merge([(lo, hi, index) for lo, hi, index in self.items])

    def __bool__(self) -> bool:
        return bool(self.items)


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, with overlapping and adjacent ranges joined (keeping the first's index)."""
    out: list[Range] = []
    for lo, hi, index in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi, out[-1][2])
        else:
            out.append((lo, hi, index))
    return out


def subtract(ranges: list[Range], cover: list[Range]) -> tuple[list[Range], int]:
    """``ranges`` minus ``cover`` (both merged), and how many members ``cover`` took."""
    out: list[Range] = []
    covered = 0
    j = 0
    for lo, hi, index in ranges:
        cur = lo
        while j < len(cover) and cover[j][1] < cur:
            j += 1
        k = j
        while cur <= hi:
            if k >= len(cover) or cover[k][0] > hi:
                out.append((cur, hi, index))
                break
            c_lo, c_hi, _ = cover[k]
            if c_lo > cur:
                out.append((cur, c_lo - 1, index))
            covered += min(hi, c_hi) - max(cur, c_lo) + 1
            cur = c_hi + 1
            k += 1
    return out, covered


def seqs(lo: int, hi: int) -> str:
    return f"segment {lo}" if lo == hi else f"segments {lo}..{hi}"


def probe(path: str, digest: bool) -> Probed:
    try:
        if not digest:
            return os.stat(path).st_size, None
        with open(path, "rb") as f:
            h = hashlib.file_digest(f, "sha256")
            return f.tell(), h.hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None, None


def _probe_all(paths: list[str]) -> list[Probed]:
    return [probe(path, True) for path in paths]


class Media:
    def __init__(self, root: Path, hash_blobs: bool, add: Add, stats: AuditStats) -> None:
        self.root = str(root)
        self.hash_blobs = hash_blobs
        self.add = add
        self.stats = stats
        self.missing = Ranges()  # segment numbers whose blob is not on disk
        self.inits: dict[str, Ranges | None] = {}  # init sha -> seqs needing it, if missing
        self.to_hash: list[tuple[Seen, str]] = []
        self.hashing: deque[tuple[list[Seen], Future[list[Probed]]]] = deque()
        self.pool: ThreadPoolExecutor | None = None
        probe_sha = "0" * 64
        if Path(self.path(probe_sha)) != blob_path(root, probe_sha):
            raise AssertionError("the blob store's layout changed: update Media.path")

    def path(self, sha256: str) -> str:
        """``BlobStore.path`` without a Path object per blob (10^6 of them cost ~6 s);
        checked against it when the audit starts."""
        return f"{self.root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def __enter__(self) -> Media:
        if self.hash_blobs:
            self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-hash")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    # -- during the pass -------------------------------------------------------------------

    def segment(self, seen: Seen) -> None:
        index, seg = seen
        if seg.init not in self.inits:
            self._init(index, seg)
        else:
            uses = self.inits[seg.init]
            if uses is not None:  # the init section is missing: remember who needs it
                uses.add(seg.seq, index)
        path = self.path(seg.sha256)
        if self.pool is None:
            size, _ = probe(path, False)
            self._result(seen, size, None)
            return
        self.to_hash.append((seen, path))
        if len(self.to_hash) >= _HASH_BATCH:
            self._submit()
            self._drain(_HASH_AHEAD)

    def flush(self) -> None:
        self._submit()
        self._drain(0)

    def _init(self, index: int, seg: Segment) -> None:
        size, digest = probe(self.path(seg.init), self.hash_blobs)
        if size is None:
            uses = Ranges()
            uses.add(seg.seq, index)
            self.inits[seg.init] = uses
            return
        self.inits[seg.init] = None
        self.stats.blobs_checked += 1
        if digest is not None:
            self.stats.bytes_hashed += size
            if digest != seg.init:
                self.add(
                    "blobs",
                    "error",
                    index,
                    f"init section {seg.init[:16]}… (first used by segment {seg.seq}) hashes "
                    f"to {digest[:16]}…: its content changed on disk",
                    seqs=(seg.seq, seg.seq),
                )

    def _submit(self) -> None:
        if self.to_hash and self.pool is not None:
            paths = [path for _, path in self.to_hash]
            batch = [seen for seen, _ in self.to_hash]
            self.hashing.append((batch, self.pool.submit(_probe_all, paths)))
            self.to_hash = []

    def _drain(self, keep: int) -> None:
        while len(self.hashing) > keep:
            batch, future = self.hashing.popleft()
            for seen, (size, digest) in zip(batch, future.result(), strict=True):
                self._result(seen, size, digest)

    def _result(self, seen: Seen, size: int | None, digest: str | None) -> None:
        index, seg = seen
        if size is None:
            self.missing.add(seg.seq, index)
            return
        self.stats.blobs_checked += 1
        where = f"segment {seg.seq} (entry {index})"
        if digest is not None:
            self.stats.bytes_hashed += size
            if digest != seg.sha256:
                self.add(
                    "blobs",
                    "error",
                    index,
                    f"{where}: blob sha256 expected {seg.sha256[:16]}…, found {digest[:16]}…: "
                    "its content changed on disk",
                    seqs=(seg.seq, seg.seq),
                )
                return
        if size != seg.bytes:
            self.add(
                "blobs",
                "error",
                index,
                f"{where}: blob is {size} bytes, the log says {seg.bytes}: its content "
                "changed on disk",
                seqs=(seg.seq, seg.seq),
            )

    # -- after the pass --------------------------------------------------------------------

    def reconcile(
        self,
        purged: list[Range],
        purges: list[tuple[int, Purge]],
        late: Callable[[], list[Range]],
        size: int,
    ) -> None:
        """Missing media against the purge entries; ``late()`` gives purges logged after
        the audited snapshot (retention logs before it deletes, so they count)."""
        self.stats.purged = sum(hi - lo + 1 for lo, hi, _ in purged)
        after = late() if self.missing else []
        missing, covered = subtract(self.missing.merged(), purged)
        missing, covered_late = subtract(missing, after)
        for lo, hi, index in missing:
            self.add(
                "blobs",
                "error",
                index,
                f"{seqs(lo, hi)} (from entry {index}): media missing from {self.root} "
                "and no purge entry covers it: deleted outside retention (tampering or a "
                "lost disk)",
                seqs=(lo, hi),
            )
        for index, purge in purges:
            self.add(
                "blobs",
                "info",
                index,
                f"entry {index}: {seqs(purge.first_seq, purge.last_seq)} purged at "
                f"{rfc3339(purge.time, ms=True)} by policy {purge.policy!r}",
            )
        on_disk = self.stats.purged - covered
        if on_disk > 0:
            self.add(
                "blobs",
                "info",
                None,
                f"{on_disk} purged segment(s) still have their media on disk (an interrupted "
                "purge: `packseal purge` deletes them)",
            )
        if covered_late:
            self.add(
                "blobs",
                "info",
                size,
                f"{covered_late} segment(s) were purged by a retention run logged after this "
                "audit's snapshot",
            )
        for init, uses in self.inits.items():
            if uses is None:
                continue
            left, _ = subtract(uses.merged(), merge(purged + after))
            if left:
                lo, hi, index = left[0]
                self.add(
                    "blobs",
                    "error",
                    index,
                    f"init section {init[:16]}… is missing, but {seqs(lo, hi)} (from entry "
                    f"{index}) that need it were not purged",
                    seqs=(lo, hi),
                )
