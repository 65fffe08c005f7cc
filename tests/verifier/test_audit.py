"""The whole-store audit on a real recording and on small stores built for one purpose.

The store-level attack vectors (``attacks_store.py``) run in test_attacks.py; here are
the audit's other promises: a clean store is clean, purged media is policy and not
tampering, the proof of misbehaviour it hands out really proves a fork, findings are
bounded, and a station appending during an audit is not mistaken for tampering.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

import verifier._audit as auditor
from storage import Ed25519Signer, Store, merkle
from storage._schema import entries
from storage.checkpoint import open_checkpoint
from storage.entries import Clip, Entry, Gap, Purge, Segment
from storage.retention import DAY_MS, purge_expired
from tests import factories as f
from tests.recording import Recording, copy_store
from tests.storage.test_retention import build_store
from tests.verifier.attacks_store import (
    STORE_ATTACKS,
    open_store,
    rewrite_log,
    run_store_attack,
    saved_checkpoint_path,
)
from tests.zh_said import chinese_problems
from verifier._audit_media import merge as _merge
from verifier._audit_media import subtract as _subtract
from verifier.audit import CHECKS, MAX_LISTED, AuditReport, audit_store


@dataclasses.dataclass
class _Keys:
    station: Ed25519Signer
    root: Ed25519Signer


def _attack(name: str) -> Callable[[Path, Any], None]:
    return next(a for a in STORE_ATTACKS if a.name.startswith(name)).tamper


def _errors(report: AuditReport) -> list[tuple[str, str]]:
    return [(x.check, x.message) for x in report.findings if x.severity == "error"]


# -- the real recording ----------------------------------------------------------------------


def test_a_recorded_store_audits_clean(recording: Recording) -> None:
    app = recording.app
    trust = app.trust_file()
    report = audit_store(app.store, trust.log_verifiers(), root=trust.root_verifier())
    assert report.ok
    assert report.counts == {}  # not even a note: one run, no gaps, nothing purged
    size, segments = app.store.size(), len(app.store.segments(0, 10**9))
    stats = report.stats
    assert (stats.entries, stats.clips, stats.segments) == (size, 3, segments)
    assert stats.blobs_checked == segments + 1  # and the init section
    assert stats.bytes_hashed > 0
    assert stats.checkpoints == len(app.store.checkpoints())
    doc = json.loads(report.to_json())
    assert (doc["ok"], doc["size"], doc["findings"]) == (True, size, [])


def test_without_a_trusted_root_the_audit_says_so(recording: Recording) -> None:
    app = recording.app
    report = audit_store(app.store, app.trust_file().log_verifiers(), hash_blobs=False)
    assert report.ok
    assert report.stats.bytes_hashed == 0
    (note,) = report.findings
    assert (note.check, note.severity) == ("station-keys", "info")
    assert "no trusted merchant root" in note.message


def test_purged_media_is_policy_not_tampering(recording: Recording, tmp_path: Path) -> None:
    data = copy_store(recording.data_dir, tmp_path / "data")
    store = open_store(data)
    try:
        segs = store.segments(0, 10**9)
        # Everything that ended more than a day before "now" = 20 s into the recording.
        now = segs[0].start_ms + 20_000 + DAY_MS
        result = purge_expired(store, older_than_ms=DAY_MS, now_ms=now)
        assert result.segments > 0
        trust = recording.app.trust_file()
        report = audit_store(store, trust.log_verifiers(), root=trust.root_verifier())
    finally:
        store.close()
    assert report.ok, _errors(report)
    assert report.stats.purged == result.segments
    assert [x.check for x in report.findings] == ["blobs"]
    assert "purged at" in report.findings[0].message


def test_a_deleted_blob_with_a_purge_entry_is_not_an_error(
    recording: Recording, tmp_path: Path
) -> None:
    data = copy_store(recording.data_dir, tmp_path / "data")
    _attack("segment blob deleted without")(data, None)
    assert run_store_attack(data, recording.app.trust_file())  # an error without it...
    store = open_store(data)
    try:
        store.append([Purge(f.T0, 5, 5, "retention: media older than 1 day")])
    finally:
        store.close()
    assert run_store_attack(data, recording.app.trust_file()) == []  # ...policy with it


# -- forks and rollbacks: the evidence must prove what it claims -------------------------------


def _evidence_proves_a_fork(report: AuditReport, station: Ed25519Signer) -> None:
    assert report.evidence, _errors(report)
    item = report.evidence[0]
    first = open_checkpoint(item.first, [station.verifier]).checkpoint
    second = open_checkpoint(item.second, [station.verifier]).checkpoint
    assert (first.size, second.size) == (item.first_size, item.second_size)
    if first.size == second.size:
        assert first.root_hash != second.root_hash
        return
    assert item.root_at_first_size is not None
    assert item.root_at_first_size != first.root_hash
    # The proof is valid for the second checkpoint's tree, and that tree's root at the
    # first size is not what the key signed there: no append-only log has both.
    merkle.verify_consistency(
        first.size, second.size, item.proof, item.root_at_first_size, second.root_hash
    )
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(
            first.size, second.size, item.proof, first.root_hash, second.root_hash
        )
    doc = json.loads(item.to_bytes())
    assert doc["format"] == "packseal-misbehaviour/v1"
    assert doc["checkpoints"] == [item.first.decode(), item.second.decode()]


@pytest.mark.parametrize(
    "attack", ["old entry rewritten, latest", "old entry rewritten, every", "log rolled back"]
)
def test_forks_come_with_evidence(recording: Recording, tmp_path: Path, attack: str) -> None:
    data = copy_store(recording.data_dir, tmp_path / "data")
    keys = _Keys(recording.app.station_signer, recording.app.root_signer)
    _attack(attack)(data, keys)
    saved = saved_checkpoint_path(data)
    store = open_store(data)
    try:
        report = audit_store(
            store,
            [keys.station.verifier],
            root=keys.root.verifier,
            against=saved.read_bytes() if saved.exists() else None,
        )
    finally:
        store.close()
    assert not report.ok
    if attack == "log rolled back":
        (item,) = report.evidence
        assert item.second_size > report.size  # the key signed more than the log has
    else:
        _evidence_proves_a_fork(report, keys.station)


def test_a_saved_checkpoint_the_log_still_contains(recording: Recording) -> None:
    app = recording.app
    first = app.store.checkpoints()[0]
    report = audit_store(app.store, [app.station_signer.verifier], against=first.note)
    assert report.ok
    (note,) = [x for x in report.findings if x.check == "against"]
    assert note.severity == "info"
    assert "consistency proof to the signed checkpoint" in note.message


def test_a_saved_checkpoint_signed_by_another_key(recording: Recording) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from storage.checkpoint import Checkpoint, sign_checkpoint

    app = recording.app
    other = Ed25519Signer(app.store.origin, Ed25519PrivateKey.generate())
    for saved in (b"not a note", sign_checkpoint(Checkpoint(other.name, 1, b"\0" * 32), other)):
        report = audit_store(app.store, [app.station_signer.verifier], against=saved)
        ((check, message),) = _errors(report)
        assert check == "against"
        assert message.startswith("the saved checkpoint does not verify with the log key")


# -- small stores built for one question ------------------------------------------------------


def _with_gap(store: Store, keys: _Keys, gap: Gap | None) -> None:
    """Segments 0..3, then 4..5 starting 10 s late, with ``gap`` logged between them."""
    store.append([f.station_key(keys.station, keys.root)])
    entries_: list[Entry] = []
    for seq in range(6):
        start = f.T0 + seq * 2000 + (10_000 if seq >= 4 else 0)
        info = store.put_blob_bytes(b"seg %d" % seq, f.T0)
        entries_.append(
            dataclasses.replace(
                f.segment(seq, start=start), sha256=info.sha256, init=info.sha256, bytes=info.size
            )
        )
        if seq == 3 and gap is not None:
            entries_.append(gap)
    store.append(entries_)


@pytest.mark.parametrize("explained", [True, False])
def test_time_gaps(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer, explained: bool
) -> None:
    keys = _Keys(station_signer, root_signer)
    end3 = f.T0 + 4 * 2000
    gap = Gap(end3 + 10_000, end3, end3 + 10_000, "camera-lost", 3, "unplugged")
    _with_gap(store, keys, gap if explained else None)
    report = audit_store(store, [station_signer.verifier], root=root_signer.verifier)
    gaps = [(x.severity, x.message) for x in report.findings if x.check == "gaps"]
    if explained:
        assert report.ok
        assert gaps == [
            (
                "info",
                "entry 5: 10.0 s without footage after segment 3, from "
                "2026-01-01T00:00:08.000Z: camera-lost (unplugged)",
            )
        ]
    else:
        ((severity, message),) = gaps
        assert severity == "error"
        assert "10.0 s without footage between segment 3" in message


def test_clip_references_older_than_the_window(
    store: Store,
    station_signer: Ed25519Signer,
    root_signer: Ed25519Signer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    segs = build_store(store, station_signer, root_signer, clips=((0, 19),))
    monkeypatch.setattr(auditor, "SEGMENT_WINDOW", 4)  # the clip's first refs fall out
    assert audit_store(store, [station_signer.verifier], root=root_signer.verifier).ok
    clip_at = next(i for i, d in store.entries() if b'"kind":"clip"' in d)

    def edit(tail: list[Entry]) -> list[Entry]:
        clip = tail[0]
        assert isinstance(clip, Clip)
        refs = list(clip.segments)
        refs[1] = dataclasses.replace(refs[1], end=refs[1].end + 1)
        return [dataclasses.replace(clip, segments=tuple(refs)).signed_by(station_signer)]

    rewrite_log(store, station_signer, clip_at, edit, resign="all")
    ((check, message),) = _errors(
        audit_store(store, [station_signer.verifier], root=root_signer.verifier)
    )
    assert check == "clips"
    assert f"segment {segs[1].seq}: times/size" in message


def test_findings_are_bounded_but_counted(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    n = MAX_LISTED + 30
    build_store(store, station_signer, root_signer, n=n, clips=())
    with store._engine.begin() as conn:  # every segment's stored leaf hash wrong
        conn.execute(update(entries).where(entries.c.idx >= 1).values(leaf_hash=b"\0" * 32))
    report = audit_store(store, [station_signer.verifier], root=root_signer.verifier)
    assert report.counts == {("entries", "error"): n}
    assert len(report.findings) == MAX_LISTED + 1
    assert report.findings[-1].message == (
        "… and 30 more entries error findings (not listed; the counts include them)"
    )


def test_a_station_appending_during_the_audit_is_not_tampering(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    build_store(store, station_signer, root_signer)
    size = store.size()
    seen: list[int] = []

    def station_writes(index: int, data: bytes, obj: dict[str, object]) -> None:
        seen.append(index)
        if index == 5:  # another connection appends and signs, as the station would
            store.append([f.gap(f.T0, f.T0 + 1)])
            store.sign_checkpoint(station_signer, f.T0)

    report = store.scan_log([station_signer.verifier], on_entry=station_writes, on_problem=None)
    assert report.size == size
    assert seen == list(range(size))
    assert store.size() == size + 1


# -- the range arithmetic behind "missing but purged" ---------------------------------------


@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=8),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=8),
)
def test_subtract_is_set_difference(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    ranges = _merge([(lo, lo + n, 0) for lo, n in a])
    cover = _merge([(lo, lo + n, 0) for lo, n in b])
    left, covered = _subtract(ranges, cover)
    members = {x for lo, hi, _ in ranges for x in range(lo, hi + 1)}
    covering = {x for lo, hi, _ in cover for x in range(lo, hi + 1)}
    assert {x for lo, hi, _ in left for x in range(lo, hi + 1)} == members - covering
    assert covered == len(members & covering)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(3, 14),
    clip_spans=st.lists(st.tuples(st.integers(0, 13), st.integers(0, 4)), max_size=4),
    cutoffs=st.lists(st.integers(0, 15), min_size=1, max_size=3),
)
def test_purge_then_audit_is_clean_with_notes(
    n: int, clip_spans: list[tuple[int, int]], cutoffs: list[int]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    station = Ed25519Signer("example.com/acme/station-01", Ed25519PrivateKey.generate())
    root = Ed25519Signer("acme-root", Ed25519PrivateKey.generate())
    clips = tuple((lo, min(lo + k, n - 1)) for lo, k in clip_spans if lo < n)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/p.db", Path(tmp) / "blobs", station.name, create=True)
        try:
            segs = build_store(
                store, station, root, n=n, clips=tuple(sorted(clips, key=lambda c: c[1]))
            )
            purged = 0
            for cut in sorted(cutoffs):
                at = segs[min(cut, n - 1)].end + 1 + DAY_MS
                purged += purge_expired(store, station, older_than_ms=DAY_MS, now_ms=at).segments
            report = audit_store(store, [station.verifier], root=root.verifier)
            assert report.ok, _errors(report)
            assert report.stats.purged == purged
            assert all(x.severity == "info" for x in report.findings)
            assert (purged > 0) == any("purged at" in x.message for x in report.findings)
        finally:
            store.close()
            shutil.rmtree(tmp, ignore_errors=True)


def test_store_vectors_are_distinct_and_named() -> None:
    assert len({a.name for a in STORE_ATTACKS}) == len(STORE_ATTACKS) >= 20
    assert all(a.target == "store" for a in STORE_ATTACKS)
    assert {a.check for a in STORE_ATTACKS} <= set(CHECKS)


def test_segment_fast_path_matches_the_parser() -> None:
    from storage import canonical
    from storage.entries import from_parsed

    seg = f.segment(7)
    obj = canonical.loads(seg.to_bytes())
    assert auditor._segment(obj) == from_parsed(obj) == seg
    bad = dict(obj, frames=True)  # a bool is not an int: the full parser names it
    with pytest.raises(Exception, match="frames: expected an integer"):
        auditor._segment(bad)
    assert isinstance(from_parsed(obj), Segment)


@pytest.mark.parametrize(
    "attack",
    [
        "entry deleted",
        "entry re-encoded",
        "old entry rewritten, every",
        "segment blob content changed",
        "log head",
    ],
)
def test_two_processes_find_the_same(recording: Recording, tmp_path: Path, attack: str) -> None:
    # A large log is audited in two halves, the log's integrity in a second process;
    # the findings must be exactly those of the single pass.
    data = copy_store(recording.data_dir, tmp_path / "data")
    keys = _Keys(recording.app.station_signer, recording.app.root_signer)
    _attack(attack)(data, keys)
    saved = saved_checkpoint_path(data)
    against = saved.read_bytes() if saved.exists() else None
    store = open_store(data)
    try:
        one, two = (
            audit_store(
                store,
                [keys.station.verifier],
                root=keys.root.verifier,
                against=against,
                parallel=parallel,
            )
            for parallel in (False, True)
        )
    finally:
        store.close()
    assert not one.ok
    assert (two.findings, two.counts, two.evidence) == (one.findings, one.counts, one.evidence)
    assert (two.size, two.stats.checkpoints) == (one.size, one.stats.checkpoints)


# -- two camera views per station (issue 12) ---------------------------------------------------


def _two_views(
    store: Store,
    keys: _Keys,
    *,
    late: int = 0,
    gap: Gap | None = None,
    edit: Callable[[Clip], Clip] | None = None,
) -> list[Segment]:
    """``top`` and ``side`` (seq 0..7 interleaved, real blobs), then their clip. With
    ``late``, side's last segment starts that many ms late, ``gap`` logged before it."""
    store.append([f.station_key(keys.station, keys.root)])
    segs: list[Segment] = []
    logged: list[Entry] = []
    for seg in f.two_view_segments(4):
        info = store.put_blob_bytes(f"{seg.view} {seg.seq}".encode(), f.T0)
        init = store.put_blob_bytes(f"init {seg.view}".encode(), f.T0).sha256
        shift = late if seg.seq == 7 else 0
        seg = dataclasses.replace(
            seg,
            sha256=info.sha256,
            init=init,
            bytes=info.size,
            start=seg.start + shift,
            end=seg.end + shift,
            time=seg.time + shift,
        )
        if seg.seq == 7 and gap is not None:
            logged.append(gap)
        segs.append(seg)
        logged.append(seg)
    clip = f.two_view_clip(keys.station, segs)
    if edit is not None:
        clip = edit(clip).signed_by(keys.station)
    store.append([*logged, clip])
    return segs


def _audit_errors(store: Store, keys: _Keys) -> list[tuple[str, str]]:
    return _errors(audit_store(store, [keys.station.verifier], root=keys.root.verifier))


def test_a_two_view_store_audits_clean(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    keys = _Keys(station_signer, root_signer)
    _two_views(store, keys)
    report = audit_store(store, [station_signer.verifier], root=root_signer.verifier)
    assert report.ok, _errors(report)
    assert report.stats.segments == 8
    assert report.stats.clips == 1


@pytest.mark.parametrize("explained", ["side", "station", "top", None])
def test_a_gap_in_one_view_is_that_views(
    store: Store,
    station_signer: Ed25519Signer,
    root_signer: Ed25519Signer,
    explained: str | None,
) -> None:
    keys = _Keys(station_signer, root_signer)
    end = f.T0 + 6300  # side's segment 5 ends here; its segment 7 starts 10 s late
    gap = Gap(end + 10_000, end, end + 10_000, "camera-lost", 6, "unplugged", view="side")
    if explained == "station":
        gap = dataclasses.replace(gap, view=None)
    elif explained == "top":
        gap = dataclasses.replace(gap, view="top")
    _two_views(store, keys, late=10_000, gap=gap if explained else None)
    errors = _audit_errors(store, keys)
    if explained in ("side", "station"):
        assert errors == []
        return
    ((check, message),) = errors
    assert check == "gaps"
    assert "10.0 s without footage of view side between segment 5" in message
    assert chinese_problems(message) == []  # as `packseal audit` shows it in zh-CN


def test_a_clip_that_leaves_out_a_segment_of_a_view(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    keys = _Keys(station_signer, root_signer)

    def drop_side_3(clip: Clip) -> Clip:
        (side,) = clip.views or ()
        refs = tuple(r for r in side.segments if r.seq != 3)
        return dataclasses.replace(clip, views=(dataclasses.replace(side, segments=refs),))

    _two_views(store, keys, edit=drop_side_3)
    ((check, message),) = _audit_errors(store, keys)
    assert check == "clips"
    assert "leaves out segment 3 of view side" in message
    assert chinese_problems(message) == []


def test_a_clip_that_puts_a_segment_in_the_wrong_view(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    keys = _Keys(station_signer, root_signer)

    def side_1_in_top(clip: Clip) -> Clip:
        (side,) = clip.views or ()
        moved = side.segments[0]
        top = tuple(sorted((*clip.segments, moved), key=lambda r: r.seq))
        rest = dataclasses.replace(side, segments=side.segments[1:])
        return dataclasses.replace(clip, segments=top, views=(rest,))

    _two_views(store, keys, edit=side_1_in_top)
    messages = [m for c, m in _audit_errors(store, keys) if c == "clips"]
    assert any("segment 1: the clip puts it in view top, the segment entry" in m for m in messages)
    assert any("is view side's" in m for m in messages)
    assert [p for m in messages for p in chinese_problems(m)] == []


def test_segment_fast_path_reads_a_view() -> None:
    from storage import canonical
    from storage.entries import from_parsed

    seg = f.two_view_segments(1)[1]
    obj = canonical.loads(seg.to_bytes())
    assert auditor._segment(obj) == from_parsed(obj) == seg
    assert seg.view == "side"
    with pytest.raises(Exception, match="view: expected a string"):
        auditor._segment(dict(obj, view=3))


def test_a_deleted_segment_of_one_view_is_found(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    keys = _Keys(station_signer, root_signer)
    segs = _two_views(store, keys)
    side_3 = next(s for s in segs if s.seq == 3)
    assert side_3.view == "side"
    blob_dir = store.blob_dir()
    assert blob_dir is not None
    (blob_dir / side_3.sha256[:2] / side_3.sha256[2:4] / side_3.sha256).unlink()
    report = audit_store(store, [station_signer.verifier], root=root_signer.verifier)
    ((check, message),) = _errors(report)
    assert check == "blobs"
    assert message.startswith("segment 3 (from entry ")
    assert "no purge entry covers it" in message
    (finding,) = [f for f in report.findings if f.severity == "error"]
    clip = store.clips()[0]
    assert finding.affects == ((clip.order_id, clip.clip_id),)
