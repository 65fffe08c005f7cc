"""The hub's mirror: pushes checked against certified keys, the held tree, and the entries."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import BlobStore, Ed25519Signer, Store, merkle
from storage.blobs import BlobInfo
from storage.checkpoint import Checkpoint
from storage.entries import GENESIS, StationKey
from storage.footage import FootageSource
from storage.hubanchors import add_anchors
from storage.mirror import (
    BlobNotNamed,
    Mirror,
    MirrorFork,
    PushConflict,
    PushInvalid,
    PushRefused,
)
from storage.misbehaviour import Misbehaviour
from storage.note import parse
from storage.outbox import AnchorMark, Outbox
from storage.push import Push
from tests.conftest import ORIGIN
from tests.factories import T0, clip, segment, station_key


@pytest.fixture
def mirror(db_url: str, tmp_path: Path, root_signer: Ed25519Signer) -> Iterator[Mirror]:
    m = Mirror.open(db_url, BlobStore(tmp_path / "hub-blobs"), [root_signer.verifier])
    yield m
    m.close()


@pytest.fixture
def station(
    tmp_path: Path, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'station.db'}", tmp_path / "blobs", ORIGIN, create=True)
    s.append([station_key(station_signer, root_signer)])
    s.sign_checkpoint(station_signer, T0)
    yield s
    s.close()


def _record(store: Store, signer: Ed25519Signer, first: int, n: int) -> None:
    """``n`` segments (their blobs stored) and a clip over them, then a checkpoint."""
    segs = []
    for seq in range(first, first + n):
        info = store.put_blob_bytes(f"segment {seq}".encode(), T0)
        segs.append(dataclasses.replace(segment(seq), sha256=info.sha256, init=_init(store)))
    store.append([*segs, clip(signer, segs, order=f"SO-{first}")])
    store.sign_checkpoint(signer, T0 + first)


def _init(store: Store) -> str:
    return store.put_blob_bytes(b"init section", T0).sha256


def _push(store: Store, old: int) -> Push:
    cp = store.latest_checkpoint()
    assert cp is not None
    log = store._log
    return Push(
        old,
        log.root(old),
        tuple(log.consistency_proof(old, cp.size)),
        tuple(d for _, d in log.iter_entries(old, cp.size)),
        cp.note,
    )


def test_push_appends_byte_for_byte_and_is_idempotent(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    token = mirror.enrol("station-01", T0).token
    assert mirror.authenticate(token) == "station-01"
    _record(station, station_signer, 0, 3)
    got = mirror.push("station-01", _push(station, 0), T0)
    assert (got.size, got.root, got.appended) == (5, station.root(), 5)
    again = mirror.push("station-01", _push(station, 0), T0)  # a lost answer: sent again
    assert (again.size, again.appended) == (5, 0)
    _record(station, station_signer, 3, 2)
    assert mirror.push("station-01", _push(station, 5), T0).size == 8
    view = mirror.store_of("station-01")
    assert [d for _, d in view.entries()] == [d for _, d in station.entries()]
    assert view.latest_checkpoint().note == station.latest_checkpoint().note  # type: ignore[union-attr]
    assert [c.clip_id for c in view.clips()] == [c.clip_id for c in station.clips()]


def test_push_from_the_wrong_size_answers_the_size_held(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 2)
    mirror.push("station-01", _push(station, 0), T0)
    _record(station, station_signer, 2, 2)
    with pytest.raises(PushConflict) as caught:
        mirror.push("station-01", _push(station, 1), T0)
    assert caught.value.size == 4


def test_an_old_push_sent_again_is_answered_with_the_checkpoint_the_hub_holds(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    """A station that forgot the hub's acknowledgements (restored from a backup) pushes an
    older checkpoint again. The answer names the hub's size and the checkpoint it holds
    there, which is what the hub cosigns: before, it carried the old checkpoint's body
    under the new size, the hub cosigned that as its newest checkpoint (seen: checkpoint
    1's body as size 18) and then refused the station's copy of the cosignature for ever."""
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 3)
    old = _push(station, 0)
    mirror.push("station-01", old, T0)
    _record(station, station_signer, 3, 2)
    mirror.push("station-01", _push(station, 5), T0)
    again = mirror.push("station-01", old, T0)
    held = station.latest_checkpoint()
    assert held is not None
    assert (again.size, again.root, again.appended) == (8, station.root(), 0)
    assert (again.checkpoint.size, again.checkpoint.root_hash) == (8, again.root)
    assert again.text == parse(held.note)[0]


def test_unenrolled_revoked_and_uncertified_stations_are_refused(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer, tmp_path: Path
) -> None:
    with pytest.raises(PushRefused, match="not enrolled"):
        mirror.push("station-01", _push(station, 0), T0)
    token = mirror.enrol("station-01", T0).token
    mirror.revoke("station-01", T0)
    with pytest.raises(PushRefused, match="revoked"):
        mirror.authenticate(token)
    with pytest.raises(PushRefused, match="not an enrolment token"):
        mirror.authenticate("psh_guess")
    # certified by a root the hub does not trust
    other_root = Ed25519Signer("other-root", Ed25519PrivateKey.generate())
    rogue = Store.open(
        f"sqlite:///{tmp_path / 'rogue.db'}", tmp_path / "rb", ORIGIN + "-rogue", create=True
    )
    signer = Ed25519Signer(ORIGIN + "-rogue", Ed25519PrivateKey.generate())
    rogue.append([station_key(signer, other_root)])
    rogue.sign_checkpoint(signer, T0)
    mirror.enrol("station-01", T0)
    with pytest.raises(PushRefused, match="certified by a merchant root this hub trusts"):
        mirror.push("station-01", _push(rogue, 0), T0)
    rogue.close()
    assert "certified" in (mirror.stations()[0].last_refusal or "")


def test_checkpoint_signed_by_another_key_is_refused(
    mirror: Mirror, station: Store, root_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    impostor = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    station.append([segment(0)])
    cp = station.sign_checkpoint(impostor, T0)
    push = dataclasses.replace(_push(station, 0), checkpoint=cp.note)
    with pytest.raises(PushRefused, match="not signed by a certified key"):
        mirror.push("station-01", push, T0)


def test_entries_that_do_not_hash_to_the_checkpoint_are_refused(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 2)
    push = _push(station, 0)
    other = dataclasses.replace(segment(9), prev=merkle.leaf_hash(push.entries[0]).hex())
    bad = dataclasses.replace(push, entries=(push.entries[0], other.to_bytes(), *push.entries[2:]))
    with pytest.raises(PushInvalid):
        mirror.push("station-01", bad, T0)
    short = dataclasses.replace(push, entries=push.entries[:-1])
    with pytest.raises(PushInvalid, match="entries"):
        mirror.push("station-01", short, T0)
    assert mirror.size("station-01") == 0  # nothing of a refused push stays
    assert mirror.push("station-01", push, T0).size == 4


def test_a_rewritten_and_resigned_log_is_refused_with_a_misbehaviour_proof(
    mirror: Mirror,
    station: Store,
    station_signer: Ed25519Signer,
    root_signer: Ed25519Signer,
    tmp_path: Path,
) -> None:
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 3)
    mirror.push("station-01", _push(station, 0), T0)
    held = station.latest_checkpoint()
    assert held is not None
    # The station's log rewritten: same key, entry 1 changed, re-chained and re-signed.
    forged = Store.open(f"sqlite:///{tmp_path / 'forged.db'}", tmp_path / "fb", ORIGIN, create=True)
    rows = [d for _, d in station.entries()]
    from storage.entries import from_bytes

    rewritten = [from_bytes(d) for d in rows]
    rewritten[1] = dataclasses.replace(rewritten[1], frames=1)  # type: ignore[call-arg]
    forged.append(rewritten)
    forged.append([segment(50)])
    forged.sign_checkpoint(station_signer, T0)
    push = _push(forged, held.size)
    with pytest.raises(MirrorFork) as caught:
        mirror.push("station-01", push, T0)
    proof = caught.value.proof
    kept = mirror.misbehaviour("station-01")
    assert kept == [proof]
    assert Misbehaviour.from_bytes(proof.to_bytes()) == proof
    # Anyone can check it: the proof verifies to the second (signed) root and leads to
    # another root at the first size than the one the first (signed) checkpoint names.
    from storage.checkpoint import open_checkpoint

    first = open_checkpoint(proof.first, [station_signer.verifier]).checkpoint
    second = open_checkpoint(proof.second, [station_signer.verifier]).checkpoint
    assert proof.root_at_first_size is not None
    merkle.verify_consistency(
        first.size, second.size, proof.proof, proof.root_at_first_size, second.root_hash
    )
    assert proof.root_at_first_size != first.root_hash
    assert mirror.size("station-01") == 5
    assert mirror.stations()[0].misbehaviour == 1
    # and the fork of an old checkpoint: the rewritten log at the size the hub holds
    forged.close()


def test_an_old_checkpoint_with_another_root_is_a_fork_proved_from_the_hubs_tree(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer, tmp_path: Path
) -> None:
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 3)
    mirror.push("station-01", _push(station, 0), T0)
    forged = Store.open(f"sqlite:///{tmp_path / 'f.db'}", tmp_path / "fb", ORIGIN, create=True)
    rows = [d for _, d in station.entries(0, 3)]
    from storage.entries import from_bytes

    forged.append([from_bytes(rows[0]), from_bytes(rows[1]), segment(77)])
    cp = forged.sign_checkpoint(station_signer, T0)
    push = Push(0, merkle.EMPTY_ROOT, (), (), cp.note)
    with pytest.raises(MirrorFork) as caught:
        mirror.push("station-01", push, T0)
    proof = caught.value.proof
    assert (proof.first_size, proof.second_size) == (3, 5)
    assert proof.root_at_first_size == station.root(3)
    forged.close()


def test_key_rotation_is_followed(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    new = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    entry = dataclasses.replace(station_key(new, root_signer), prev=GENESIS)
    assert isinstance(entry, StationKey)
    station.append([entry])
    station.sign_checkpoint(new, T0)
    assert mirror.push("station-01", _push(station, 0), T0).size == 2


def test_blobs_must_be_named_by_pushed_entries_and_match_their_name(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 2)
    seg = station.segments(0, 0)[0]
    data = station.read_blob(seg.sha256)
    with pytest.raises(BlobNotNamed, match="names blob"):
        mirror.put_blob("station-01", seg.sha256, data, T0)
    mirror.push("station-01", _push(station, 0), T0)
    with pytest.raises(Exception, match="hash to"):
        mirror.put_blob("station-01", seg.sha256, data + b"x", T0)
    assert not mirror.holds(seg.sha256)
    info = mirror.put_blob("station-01", seg.sha256, data, T0)
    assert info == BlobInfo(seg.sha256, len(data))
    assert mirror.holds(seg.sha256)
    assert mirror.names("station-01", seg.init)
    assert not mirror.names("station-01", "ab" * 32)


def test_outbox_sends_entries_then_blobs_and_remembers_acks(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    box = Outbox(station)
    _record(station, station_signer, 0, 3)
    push = box.next_push()
    assert push is not None
    assert push.old == 0
    box.acked(mirror.push("station-01", push, T0).size, T0)
    assert box.next_push() is None
    assert box.backlog().entries == 0
    pending = box.pending_blobs()
    assert len(pending) == 4  # init + 3 segments
    assert box.backlog().blobs == 3
    for b in pending:
        mirror.put_blob("station-01", b.sha256, station.read_blob(b.sha256), T0)
        box.blob_acked(b.sha256, T0)
    assert box.pending_blobs() == []
    assert box.advance() == 5
    assert box.backlog().blobs == 0
    # a backlog larger than one push goes in several, at the station's own checkpoints
    for first in range(3, 30, 3):
        _record(station, station_signer, first, 3)
    sizes = []
    while (push := box.next_push(max_entries=9)) is not None:
        box.acked(mirror.push("station-01", push, T0).size, T0)
        sizes.append(box.state().acked_size)
    assert sizes[-1] == station.size()
    assert len(sizes) > 2


def test_concurrent_pushes_of_one_log_are_serialised_by_the_database(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    """Two hub processes taking the same push at once (the row lock on the log)."""
    import threading

    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 4)
    push = _push(station, 0)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        try:
            results.append(mirror.push("station-01", push, T0).appended)
        except Exception as e:  # a PushConflict is also a correct answer
            results.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    appended = [r for r in results if isinstance(r, int)]
    assert sorted(appended) == [0, 0, 0, 6], results
    assert mirror.size("station-01") == 6
    view = mirror.store_of("station-01")
    view.verify_log([station_signer.verifier])


POLICY = {"language": "en", "quorum": 0, "stamped": True, "verify_url": None, "witnesses": []}


def test_outbox_sends_every_checkpoint_and_anchor_once_the_hub_holds_its_entries(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    mirror.enrol("station-01", T0)
    box = Outbox(station)
    _record(station, station_signer, 0, 2)
    _record(station, station_signer, 2, 2)  # two checkpoints; a push targets the latest
    box.acked(mirror.push("station-01", box.next_push() or _push(station, 0), T0).size, T0)
    sizes = [cp.size for cp in station.checkpoints()]
    assert len(sizes) == 3
    for n in sizes:
        station.anchors.add_stamp(n, "http://tsa", b"q%d" % n, b"r%d" % n, T0 + n, 1000 + n)
    # a checkpoint (and its stamp, stored first) past what the hub holds: held back
    _record(station, station_signer, 4, 2)
    late = station.size()
    station.anchors.add_stamp(late, "http://tsa", b"q", b"r", T0, 999)
    found = box.next_anchors(AnchorMark(), POLICY)
    assert found is not None
    push, mark = found
    assert [Checkpoint.from_text(parse(n)[0]).size for n in push.checkpoints] == sizes
    assert sorted(s.size for s in push.stamps) == sizes
    assert mark.stored_ms == 999  # not past the held-back stamp
    taken = add_anchors(mirror, "station-01", push, T0)
    assert (taken.checkpoints, taken.stamps) == (2, 3)  # the push target was held already
    assert add_anchors(mirror, "station-01", push, T0).stamps == 0  # idempotent
    hub = mirror.store_of("station-01")
    assert [cp.size for cp in hub.checkpoints()] == sizes
    assert hub.anchors.stamps(sizes[0])[0].response == b"r%d" % sizes[0]
    # once the hub holds the late entries, the held-back stamp goes too
    box.acked(mirror.push("station-01", box.next_push() or _push(station, 0), T0).size, T0)
    found = box.next_anchors(mark, POLICY)
    assert found is not None
    assert [s.size for s in found[0].stamps if s.size == late] == [late]
    add_anchors(mirror, "station-01", found[0], T0)
    assert box.next_anchors(found[1], POLICY) is None


def test_a_clip_naming_its_footage_source_is_mirrored_byte_for_byte(
    mirror: Mirror, station: Store, station_signer: Ed25519Signer
) -> None:
    # The hub re-encodes every pushed entry and refuses any that is not canonical: the
    # optional `source` field must survive that, beside clips that have none.
    mirror.enrol("station-01", T0)
    _record(station, station_signer, 0, 1)  # a clip without a source
    info = station.put_blob_bytes(b"segment 1", T0)
    seg = dataclasses.replace(segment(1), sha256=info.sha256, init=_init(station))
    source = FootageSource("camera", device="/dev/video0", card="HD Pro Webcam C920")
    sourced = dataclasses.replace(clip(station_signer, [seg], order="SO-1"), source=source)
    station.append([seg, sourced.signed_by(station_signer)])
    station.sign_checkpoint(station_signer, T0 + 1)
    assert mirror.push("station-01", _push(station, 0), T0).size == 5
    held = [d for _, d in mirror.store_of("station-01").entries()]
    assert held == [d for _, d in station.entries()]
    assert b'"source":{' in held[-1]
    assert b'"source":{' not in held[2]
