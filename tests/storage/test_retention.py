"""Retention on real databases and blob files: what is purged, what is kept, and the order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from storage import BlobStore, Ed25519Signer, Store
from storage.entries import Purge, Segment, parse_as
from storage.retention import DAY_MS, purge_expired
from tests import factories as f
from verifier.audit import audit_store

SEG_MS = 2000


def build_store(
    store: Store,
    station: Ed25519Signer,
    root: Ed25519Signer,
    n: int = 20,
    clips: tuple[tuple[int, int], ...] = ((0, 5), (4, 11), (12, 19)),
) -> list[Segment]:
    """A station's log in miniature: certified key, ``n`` 2 s segments with real blobs,
    clips over the given (first, last) segment ranges, a checkpoint after each clip."""
    store.append([f.station_key(station, root)])
    init = store.put_blob_bytes(b"init section", f.T0).sha256
    segs: list[Segment] = []
    ends = {last: first for first, last in clips}
    for seq in range(n):
        info = store.put_blob_bytes(f"segment {seq} ".encode() * 50, f.T0)
        seg = dataclasses.replace(
            f.segment(seq, dur=SEG_MS), sha256=info.sha256, init=init, bytes=info.size
        )
        (appended,) = store.append([seg])
        assert isinstance(appended.entry, Segment)
        segs.append(appended.entry)
        if seq in ends:
            store.append([f.clip(station, segs[ends[seq] : seq + 1], order=f"SO-{seq}")])
            store.sign_checkpoint(station, seg.end)
    return segs


def _now(segs: list[Segment], ended_before: int) -> int:
    """``now`` such that with 1-day retention the cutoff is the end of segment ``ended_before``."""
    return segs[ended_before].end + 1 + DAY_MS


def _audit(store: Store, station: Ed25519Signer, root: Ed25519Signer) -> list[tuple[str, str]]:
    report = audit_store(store, [station.verifier], root=root.verifier)
    assert report.ok, [f for f in report.findings if f.severity == "error"]
    return [(x.severity, x.message) for x in report.findings]


def _purges(store: Store) -> list[Purge]:
    return [parse_as(Purge, d) for _, d in store.entries() if b'"kind":"purge"' in d]


def test_purges_expired_media_and_keeps_clips_whole(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    segs = build_store(store, station_signer, root_signer)
    size = store.size()
    # Cutoff after segment 7 ends: clip (0..5) is expired; clip (4..11) is not, so its
    # segments 4..7 stay although they ended before the cutoff.
    result = purge_expired(
        store, station_signer, older_than_ms=DAY_MS, now_ms=_now(segs, 7), dry_run=False
    )
    assert [(r.first_seq, r.last_seq, r.files) for r in result.runs] == [(0, 3, 4)]
    assert result.kept_for_clips == 4
    assert result.inits == 0  # later segments still need it
    assert result.bytes_freed == sum(s.bytes for s in segs[:4])
    assert result.checkpoint is not None
    assert result.checkpoint.size == size + 1
    for s in segs:
        assert store.blob_exists(s.sha256) == (s.seq >= 4)
    (purge,) = _purges(store)
    assert (purge.first_seq, purge.last_seq) == (0, 3)
    assert purge.policy == "retention: media older than 1 day"
    assert store.size() == size + 1  # entries are never deleted
    notes = _audit(store, station_signer, root_signer)
    assert ("info", f"entry {size}: segments 0..3 purged") in [
        (sev, m.split(" at ")[0]) for sev, m in notes
    ]


def test_everything_expired_goes_with_its_init_section(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    segs = build_store(store, station_signer, root_signer)
    result = purge_expired(store, older_than_ms=DAY_MS, now_ms=_now(segs, 19))
    assert [(r.first_seq, r.last_seq) for r in result.runs] == [(0, 19)]
    assert (result.kept_for_clips, result.inits, result.checkpoint) == (0, 1, None)
    assert not store.blob_exists(segs[0].init)
    notes = _audit(store, station_signer, root_signer)
    assert sum("purged at" in m for _, m in notes) == 1


def test_a_clock_jump_splits_the_purge_into_runs(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    # Expired segments are a prefix of the log, except when the clock jumps: segments 3
    # and 4 were stamped a year ahead, so they stay and the purge comes in two runs.
    store.append([f.station_key(station_signer, root_signer)])
    init = store.put_blob_bytes(b"init", f.T0).sha256
    for seq in range(8):
        start = f.T0 + seq * SEG_MS + (365 * DAY_MS if seq in (3, 4) else 0)
        info = store.put_blob_bytes(b"seg %d" % seq, f.T0)
        seg = f.segment(seq, start=start, dur=SEG_MS)
        store.append([dataclasses.replace(seg, sha256=info.sha256, init=init, bytes=info.size)])
    result = purge_expired(store, older_than_ms=DAY_MS, now_ms=f.T0 + 2 * DAY_MS)
    assert [(r.first_seq, r.last_seq) for r in result.runs] == [(0, 2), (5, 7)]
    assert [(p.first_seq, p.last_seq) for p in _purges(store)] == [(0, 2), (5, 7)]
    assert result.inits == 0  # segments 3 and 4 still need it


def test_second_run_is_a_no_op_and_dry_run_changes_nothing(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    segs = build_store(store, station_signer, root_signer)
    now = _now(segs, 19)
    size = store.size()
    files = sorted(p.name for p in store._blobs.root.rglob("*") if p.is_file())
    dry = purge_expired(store, older_than_ms=DAY_MS, now_ms=now, dry_run=True)
    assert (dry.dry_run, dry.segments, dry.inits) == (True, 20, 1)
    assert store.size() == size
    assert sorted(p.name for p in store._blobs.root.rglob("*") if p.is_file()) == files
    real = purge_expired(store, older_than_ms=DAY_MS, now_ms=now)
    assert (real.segments, real.files, real.bytes_freed) == (
        dry.segments,
        dry.files,
        dry.bytes_freed,
    )
    again = purge_expired(store, older_than_ms=DAY_MS, now_ms=now + DAY_MS)
    assert (again.runs, again.leftovers, again.inits) == ((), 0, 0)
    assert store.size() == size + 1


class _CrashingBlobs(BlobStore):
    """A blob store whose disk fails on the first delete (the process dies there)."""

    def delete(self, sha256: str) -> None:
        raise OSError("simulated crash between logging the purge and deleting files")


def test_log_first_then_delete(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer, tmp_path: Path
) -> None:
    segs = build_store(store, station_signer, root_signer)
    now = _now(segs, 7)
    honest = store._blobs
    store._blobs = _CrashingBlobs(honest.root)
    with pytest.raises(OSError, match="simulated crash"):
        purge_expired(store, older_than_ms=DAY_MS, now_ms=now)
    store._blobs = honest
    # The purge is logged and nothing was deleted: the audit calls it an interrupted
    # purge (info), never tampering; the next run deletes what the log already covers.
    assert len(_purges(store)) == 1
    notes = _audit(store, station_signer, root_signer)
    assert any("still have their media on disk" in m for _, m in notes)
    result = purge_expired(store, older_than_ms=DAY_MS, now_ms=now)
    assert (result.runs, result.leftovers) == ((), 4)
    assert len(_purges(store)) == 1
    notes = _audit(store, station_signer, root_signer)
    assert not any("still have their media" in m for _, m in notes)


def test_rejects_a_non_positive_age(store: Store) -> None:
    with pytest.raises(ValueError, match="positive"):
        purge_expired(store, older_than_ms=0, now_ms=f.T0)
