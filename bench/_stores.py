"""Large stores for the log and audit benchmarks, built fast and kept in bench/out/.

Two shapes:

``build_log_store``     segments with a gap every 1000, appended in batches of 1000 and
                        no blobs: what the log benchmark measures (proofs, verify).
``build_audit_store``   what a station writes, minus the video: a certified station key,
                        2 s segments whose blobs are small real files, a signed clip of
                        the last 25 segments every 25 segments (so clips overlap, as
                        pre-roll makes them) with a signed checkpoint after each, and a
                        logged restart gap every 5000 segments.

Building skips what a station pays per entry (one transaction and fsync per segment,
a checkpoint signed in its own transaction): entries go in batches, blobs are written
without fsync, and checkpoint rows are inserted with roots from an in-memory frontier.
The resulting store is exactly what a station would have written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from storage import Ed25519Signer, Store, merkle
from storage._schema import checkpoints
from storage.checkpoint import Checkpoint, sign_checkpoint
from storage.entries import (
    Clip,
    Entry,
    Gap,
    Scan,
    Segment,
    SegmentRef,
    StationKey,
    Video,
)

OUT = Path(__file__).parent / "out"
# Cached stores are named with this: bump it when an entry format changes (2: clips name
# their zone), so that a run never measures a store the code can no longer read.
SHAPE = 2
ORIGIN = "bench.example/shop/station-01"
T0 = 1_767_225_600_000
SEGMENT_MS = 2000
CLIP_EVERY = 25
GAP_EVERY = 5000
VIDEO = Video("h264", 1280, 720, 30, 1, "yuv420p", SEGMENT_MS, "libx264 veryfast crf=28")
_SEEDS = Path(__file__).parent / "out" / "keys"


@dataclass(frozen=True)
class Built:
    url: str
    blob_dir: Path
    entries: int
    seconds: float  # to build (0 when reused)
    station: Ed25519Signer
    root: Ed25519Signer

    def open(self) -> Store:
        return Store.open(self.url, self.blob_dir, ORIGIN)


def signers() -> tuple[Ed25519Signer, Ed25519Signer]:
    """Fixed keys (seeds kept beside the stores), so a reused store still verifies."""
    _SEEDS.mkdir(parents=True, exist_ok=True)
    out = []
    for name, label in ((ORIGIN, "station"), ("bench-root", "root")):
        seed_file = _SEEDS / f"{label}.seed"
        if not seed_file.exists():
            seed_file.write_bytes(os.urandom(32))
        key = Ed25519PrivateKey.from_private_bytes(seed_file.read_bytes())
        out.append(Ed25519Signer(name, key))
    return out[0], out[1]


def _segment(seq: int, start: int, sha: str, init: str, size: int) -> Segment:
    return Segment(
        start + SEGMENT_MS + 300,
        seq,
        f"run-{seq // GAP_EVERY}",
        seq % GAP_EVERY,
        sha,
        init,
        start,
        start + SEGMENT_MS,
        60,
        0,
        size,
    )


def build_log_store(
    path: Path, n: int, *, rebuild: bool = False, progress: Callable[[int], None] | None = None
) -> Built:
    """``n`` entries of segments and gaps (no blobs) in a SQLite file at ``path``."""

    def fill(store: Store, station: Ed25519Signer, root: Ed25519Signer) -> int:
        batch: list[Entry] = []
        seq = 0
        for i in range(n):
            if i % 1000 == 999:
                start = T0 + seq * SEGMENT_MS
                batch.append(Gap(start, start, start, "restart", seq - 1))
            else:
                sha = hashlib.sha256(b"seg%d" % seq).hexdigest()
                batch.append(_segment(seq, T0 + seq * SEGMENT_MS, sha, sha, 250_000))
                seq += 1
            if len(batch) == 1000:
                store._log.append(batch)
                batch = []
                if progress is not None:
                    progress(i + 1)
        store._log.append(batch)
        store.sign_checkpoint(station, T0)
        return n

    return _build(path, n, rebuild, fill)


def build_audit_store(
    path: Path,
    n: int,
    *,
    blob_bytes: int = 4096,
    rebuild: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Built:
    """About ``n`` entries shaped like a station's log, blobs of ``blob_bytes`` each."""

    def fill(store: Store, station: Ed25519Signer, root: Ed25519Signer) -> int:
        key = StationKey(
            T0,
            ORIGIN,
            "station-01",
            "Bench station",
            "Bench Shop",
            station.verifier.vkey,
            root.verifier.vkey,
        ).certified_by(root)
        init = store.put_blob_bytes(b"init section " * 64, T0).sha256
        frontier = merkle.Frontier()
        pending: list[Entry] = [key]
        cps: list[tuple[int, bytes]] = []
        recent: list[Segment] = []
        seq, t, count = 0, T0, 1
        filler = os.urandom(blob_bytes)
        while count < n:
            if seq and seq % GAP_EVERY == 0:
                pending.append(Gap(t + 10_000, t, t + 10_000, "restart", seq - 1, "bench: restart"))
                t += 10_000
                count += 1
            data = seq.to_bytes(8, "big") + filler[8:]
            sha = _put_fast(store, data)
            seg = _segment(seq, t, sha, init, len(data))
            pending.append(seg)
            recent = [*recent[-(CLIP_EVERY - 1) :], seg]
            seq, t, count = seq + 1, t + SEGMENT_MS, count + 1
            if seq % CLIP_EVERY == 0:
                pending.append(_clip(station, recent, seq))
                count += 1
                cps.append((count, b""))
            if len(pending) >= 1000 or count >= n:
                _flush(store, station, frontier, pending, cps)
                pending = []
                if progress is not None:
                    progress(count)
        _flush(store, station, frontier, pending, cps)
        store.sign_checkpoint(station, t)
        return count

    return _build(path, n, rebuild, fill)


def _build(
    path: Path,
    n: int,
    rebuild: bool,
    fill: Callable[[Store, Ed25519Signer, Ed25519Signer], int],
) -> Built:
    """The store at ``path`` if it is there (and not ``rebuild``), else a new one ``fill``ed."""
    station, root = signers()
    url = f"sqlite:///{path}"
    blob_dir = path.with_suffix(".blobs")
    if path.exists() and not rebuild:
        return Built(url, blob_dir, n, 0.0, station, root)
    _clean(path, blob_dir)
    started = time.perf_counter()
    store = Store.open(url, blob_dir, ORIGIN, create=True)
    try:
        count = fill(store, station, root)
    finally:
        store.close()
    return Built(url, blob_dir, count, time.perf_counter() - started, station, root)


def _flush(
    store: Store,
    station: Ed25519Signer,
    frontier: merkle.Frontier,
    pending: list[Entry],
    cps: list[tuple[int, bytes]],
) -> None:
    """Append, then store a checkpoint after each clip (roots from the running frontier)."""
    if not pending:
        return
    first = frontier.size
    appended = store.append(pending)
    rows = []
    wanted = {size for size, _ in cps}
    for a in appended:
        frontier.append(a.leaf_hash)
        if frontier.size in wanted:
            root_hash = frontier.root()
            note = sign_checkpoint(Checkpoint(ORIGIN, frontier.size, root_hash), station)
            rows.append(
                {
                    "log_id": store._log.log_id,
                    "size": frontier.size,
                    "root_hash": root_hash,
                    "note": note,
                    "signed_ms": a.entry.time,
                }
            )
    assert frontier.size == first + len(pending)
    if rows:
        with store._engine.begin() as conn:
            conn.execute(insert(checkpoints), rows)
    cps.clear()


def _clip(station: Ed25519Signer, segs: list[Segment], seq: int) -> Clip:
    refs = tuple(SegmentRef(s.seq, s.sha256, s.start, s.end, s.bytes) for s in segs)
    order = f"SO-{seq:08d}"
    return Clip(
        segs[-1].end + 500,
        f"clip-{seq:08d}",
        order,
        "sealed",
        "next-order",
        segs[0].start + 2500,
        segs[-1].end - 2500,
        2000,
        2000,
        "station-01",
        "bench",
        segs[-1].run,
        segs[-1].init,
        refs,
        (
            Scan(segs[0].start + 2500, order, "order", "Code128", "camera", (10, 20, 300, 80)),
            Scan(segs[-1].end - 2600, f"TRK{seq:010d}", "tracking", "Code128", "gun", None),
        ),
        VIDEO,
        "Europe/Berlin",
        (f"TRK{seq:010d}",),
    ).signed_by(station)


def _put_fast(store: Store, data: bytes) -> str:
    """Write a blob where the store keeps it, without the per-file fsync (bench only)."""
    sha = hashlib.sha256(data).hexdigest()
    path = store._blobs.path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha


def _clean(path: Path, blob_dir: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    shutil.rmtree(blob_dir, ignore_errors=True)
