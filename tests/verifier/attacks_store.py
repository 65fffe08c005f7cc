"""Store-level attack vectors for the audit (``target="store"``), run by test_attacks.py.

Each vector tampers with a private copy of a recorded data directory (the SQLite file
and the blob directory) the way someone with access to the merchant's machine could:
plain SQL edits, deleted or altered files, or, the strongest case, a log rewritten
from some entry on and re-signed with the station key (the merchant holds it). The
audit must name the check that fails.

A vector that needs the auditor's earlier checkpoint (``--against``) saves it beside
the data directory (:func:`saved_checkpoint_path`); :func:`run_store_attack` finds it.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import delete, insert, select, update

from storage import Ed25519Signer, Store, TrustFile, merkle
from storage._schema import checkpoints, entries, logs, nodes
from storage.checkpoint import Checkpoint, sign_checkpoint
from storage.db import connect
from storage.entries import GENESIS, Clip, Entry, Gap, Purge, Segment, SegmentRef, from_bytes
from tests.storage.tamper import insert_entry
from tests.verifier.attacks import Attack
from verifier.audit import audit_store


class StoreContext(Protocol):
    """What store vectors use of the harness's context (the recording's keys)."""

    @property
    def station(self) -> Ed25519Signer: ...

    @property
    def root(self) -> Ed25519Signer: ...


def saved_checkpoint_path(data_dir: Path) -> Path:
    """Where a vector leaves the checkpoint an auditor saved before the tampering."""
    return data_dir.with_name(data_dir.name + ".saved-checkpoint")


def open_store(data_dir: Path) -> Store:
    """The store of a recorded data directory (its one log)."""
    url = f"sqlite:///{data_dir / 'packseal.db'}"
    engine = connect(url)
    try:
        with engine.connect() as conn:
            origin = conn.execute(select(logs.c.origin)).scalar_one()
    finally:
        engine.dispose()
    return Store.open(url, data_dir / "blobs", origin)


def run_store_attack(
    data_dir: Path, trust: TrustFile, against: bytes | None = None
) -> list[tuple[str, str]]:
    """Audit a (tampered) data directory against the merchant's trust file.

    Returns ``(check, message)`` for every error finding. ``against`` defaults to the
    checkpoint a vector saved beside the data directory, if any.
    """
    saved = saved_checkpoint_path(data_dir)
    if against is None and saved.exists():
        against = saved.read_bytes()
    store = open_store(data_dir)
    try:
        report = audit_store(
            store,
            trust.log_verifiers(store.origin),
            root=trust.root_verifier(),
            against=against,
        )
    finally:
        store.close()
    return [(f.check, f.message) for f in report.findings if f.severity == "error"]


# -- tools ---------------------------------------------------------------------------------


def _with_store(data_dir: Path, fn: Callable[[Store], None]) -> None:
    store = open_store(data_dir)
    try:
        fn(store)
    finally:
        store.close()


def _index_of(store: Store, kind: str, nth: int = 0) -> int:
    """Log index of the ``nth`` entry of ``kind`` (negative counts from the end)."""
    with store._engine.connect() as conn:
        found = [
            int(i)
            for i in conn.execute(
                select(entries.c.idx).where(entries.c.kind == kind).order_by(entries.c.idx)
            ).scalars()
        ]
    return found[nth]


def _row(store: Store, idx: int) -> tuple[bytes, bytes]:
    with store._engine.connect() as conn:
        r = conn.execute(
            select(entries.c.data, entries.c.leaf_hash).where(entries.c.idx == idx)
        ).one()
    return bytes(r.data), bytes(r.leaf_hash)


def _set_row(store: Store, idx: int, **values: object) -> None:
    with store._engine.begin() as conn:
        conn.execute(update(entries).where(entries.c.idx == idx).values(**values))


def _save_checkpoint(data_dir: Path, store: Store) -> None:
    latest = store.latest_checkpoint()
    assert latest is not None
    saved_checkpoint_path(data_dir).write_bytes(latest.note)


Resign = Literal["none", "latest", "all"]


def rewrite_log(
    store: Store,
    signer: Ed25519Signer,
    start: int,
    edit: Callable[[list[Entry]], list[Entry]],
    *,
    resign: Resign,
) -> None:
    """Rewrite the log from entry ``start`` on, as its key holder could.

    The entries from ``start`` are parsed, passed through ``edit`` and appended again, so
    the chain, leaf hashes, subtree hashes and head are all recomputed. Checkpoints over
    the rewritten part keep their old (now inconsistent) notes, except: ``latest``
    re-signs the newest one, ``all`` re-signs every one (then only an earlier copy of a
    checkpoint, held by an auditor, shows the fork).
    """
    log = store._log
    tail = [from_bytes(data) for _, data in log.iter_entries(start)]
    old = [cp for cp in log.checkpoints() if cp.size > start]
    with store._engine.begin() as conn:
        conn.execute(delete(entries).where(entries.c.idx >= start))
        for level in range(64):
            conn.execute(delete(nodes).where(nodes.c.level == level, nodes.c.idx >= start >> level))
        head = _leaf_before(conn, start)
        conn.execute(update(logs).values(size=start, head=head))
        conn.execute(delete(checkpoints).where(checkpoints.c.size > start))
    log.append(edit(tail))
    size = log.size()
    with store._engine.begin() as conn:
        keep = old if resign == "none" else old[:-1] if resign == "latest" else []
        for cp in keep:
            conn.execute(
                insert(checkpoints).values(
                    log_id=log.log_id,
                    size=cp.size,
                    root_hash=cp.root_hash,
                    note=cp.note,
                    signed_ms=cp.signed_ms,
                )
            )
        if resign == "all":
            for cp in old:
                if cp.size < size:
                    root = log.root(cp.size)
                    conn.execute(
                        insert(checkpoints).values(
                            log_id=log.log_id,
                            size=cp.size,
                            root_hash=root,
                            note=sign_checkpoint(Checkpoint(log.origin, cp.size, root), signer),
                            signed_ms=cp.signed_ms,
                        )
                    )
    if resign != "none":
        log.sign_checkpoint(signer, old[-1].signed_ms if old else 0)


def _leaf_before(conn: Any, start: int) -> bytes:
    if start == 0:
        return bytes.fromhex(GENESIS)
    return bytes(
        conn.execute(select(entries.c.leaf_hash).where(entries.c.idx == start - 1)).scalar_one()
    )


def _segments(tail: list[Entry]) -> list[tuple[int, Segment]]:
    return [(i, e) for i, e in enumerate(tail) if isinstance(e, Segment)]


def _blob(data_dir: Path, store: Store, kind: Literal["segment", "init"], nth: int = 5) -> Path:
    seg = from_bytes(store.entry(_index_of(store, "segment", nth)))
    assert isinstance(seg, Segment)
    return store._blobs.path(seg.sha256 if kind == "segment" else seg.init)


# -- the vectors -----------------------------------------------------------------------------
# Each takes (data_dir, ctx) and edits the copy in place.


def _edit_data(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        idx = _index_of(store, "segment", 7)
        data, _ = _row(store, idx)
        _set_row(store, idx, data=data.replace(b'"dropped":0', b'"dropped":1'))

    _with_store(data_dir, go)


def _edit_data_and_leaf(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        idx = _index_of(store, "segment", 7)
        data, _ = _row(store, idx)
        new = data.replace(b'"dropped":0', b'"dropped":1')
        _set_row(store, idx, data=new, leaf_hash=merkle.leaf_hash(new))

    _with_store(data_dir, go)


def _not_canonical(data_dir: Path, ctx: StoreContext) -> None:
    """An entry re-encoded with a space (same JSON value) and its leaf hash to match."""

    def go(store: Store) -> None:
        idx = _index_of(store, "segment", 6)
        data, _ = _row(store, idx)
        new = data.replace(b'"dropped":0', b'"dropped": 0')
        _set_row(store, idx, data=new, leaf_hash=merkle.leaf_hash(new))

    _with_store(data_dir, go)


def _delete_entry(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        with store._engine.begin() as conn:
            conn.execute(delete(entries).where(entries.c.idx == _index_of(store, "segment", 9)))

    _with_store(data_dir, go)


def _reorder(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        a = _index_of(store, "segment", 4)
        (da, la), (db, lb) = _row(store, a), _row(store, a + 1)
        _set_row(store, a, data=db, leaf_hash=lb)
        _set_row(store, a + 1, data=da, leaf_hash=la)

    _with_store(data_dir, go)


def _insert(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        at = _index_of(store, "segment", 10)
        insert_entry(store, at, store.size(), Gap(1, 0, 1, "restart", None))

    _with_store(data_dir, go)


def _head_rewound(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        with store._engine.begin() as conn:
            conn.execute(update(logs).values(size=logs.c.size - 1))

    _with_store(data_dir, go)


def _subtree_changed(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        with store._engine.begin() as conn:
            conn.execute(
                update(nodes).where(nodes.c.level == 2, nodes.c.idx == 1).values(hash=b"\x11" * 32)
            )

    _with_store(data_dir, go)


def _foreign_checkpoint(data_dir: Path, ctx: StoreContext) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def go(store: Store) -> None:
        cp = store.latest_checkpoint()
        assert cp is not None
        other = Ed25519Signer(store.origin, Ed25519PrivateKey.generate())
        note = sign_checkpoint(Checkpoint(store.origin, cp.size, cp.root_hash), other)
        with store._engine.begin() as conn:
            conn.execute(update(checkpoints).where(checkpoints.c.size == cp.size).values(note=note))

    _with_store(data_dir, go)


def _blob_deleted(data_dir: Path, ctx: StoreContext) -> None:
    _with_store(data_dir, lambda store: _blob(data_dir, store, "segment").unlink())


def _blob_changed(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        path = _blob(data_dir, store, "segment")
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))

    _with_store(data_dir, go)


def _blob_truncated(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        path = _blob(data_dir, store, "segment", 3)
        path.write_bytes(path.read_bytes()[:-100])

    _with_store(data_dir, go)


def _init_changed(data_dir: Path, ctx: StoreContext) -> None:
    def go(store: Store) -> None:
        path = _blob(data_dir, store, "init")
        path.write_bytes(path.read_bytes() + b"\0")

    _with_store(data_dir, go)


def _init_deleted(data_dir: Path, ctx: StoreContext) -> None:
    _with_store(data_dir, lambda store: _blob(data_dir, store, "init").unlink())


def _rolled_back(data_dir: Path, ctx: StoreContext) -> None:
    """The auditor saved the latest checkpoint; the merchant then cut the log back to an
    earlier checkpoint, consistently (entries, tree, head, checkpoints)."""

    def go(store: Store) -> None:
        _save_checkpoint(data_dir, store)
        cps = store.checkpoints()
        back = cps[-2].size
        rewrite_log(store, ctx.station, back, lambda tail: [], resign="none")
        with store._engine.begin() as conn:
            conn.execute(delete(checkpoints).where(checkpoints.c.size > back))

    _with_store(data_dir, go)


def _forked_resign_latest(data_dir: Path, ctx: StoreContext) -> None:
    """An old segment rewritten (another hash) and the log re-signed from there on with
    the station key; the older checkpoints still carry the roots of the first history."""

    def go(store: Store) -> None:
        start = _index_of(store, "segment", 2)
        rewrite_log(store, ctx.station, start, _other_hash_first_segment, resign="latest")

    _with_store(data_dir, go)


def _forked_resign_all(data_dir: Path, ctx: StoreContext) -> None:
    """The same rewrite with every checkpoint re-signed: only the auditor's copy shows it."""

    def go(store: Store) -> None:
        _save_checkpoint(data_dir, store)
        start = _index_of(store, "segment", 2)
        rewrite_log(store, ctx.station, start, _other_hash_first_segment, resign="all")

    _with_store(data_dir, go)


def _other_hash_first_segment(tail: list[Entry]) -> list[Entry]:
    seg = tail[0]
    assert isinstance(seg, Segment)
    return [dataclasses.replace(seg, sha256="ab" * 32), *tail[1:]]


def _clip_foreign_hash(data_dir: Path, ctx: StoreContext) -> None:
    """A clip re-signed with a segment hash that no segment entry has (footage swapped)."""

    def go(store: Store) -> None:
        start = _index_of(store, "clip", 0)

        def edit(tail: list[Entry]) -> list[Entry]:
            clip = tail[0]
            assert isinstance(clip, Clip)
            refs = list(clip.segments)
            refs[2] = dataclasses.replace(refs[2], sha256="cd" * 32)
            forged = dataclasses.replace(clip, segments=tuple(refs)).signed_by(ctx.station)
            return [forged, *tail[1:]]

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


def _clip_unsigned_edit(data_dir: Path, ctx: StoreContext) -> None:
    """A clip's order id changed and the log rebuilt, without the station's signature."""

    def go(store: Store) -> None:
        start = _index_of(store, "clip", 1)

        def edit(tail: list[Entry]) -> list[Entry]:
            clip = tail[0]
            assert isinstance(clip, Clip)
            return [dataclasses.replace(clip, order_id="SO-FORGED"), *tail[1:]]

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


def _clip_segment_not_logged(data_dir: Path, ctx: StoreContext) -> None:
    """A clip re-signed to claim one more segment than the log holds."""

    def go(store: Store) -> None:
        start = _index_of(store, "clip", -1)

        def edit(tail: list[Entry]) -> list[Entry]:
            clip = tail[0]
            assert isinstance(clip, Clip)
            last = clip.segments[-1]
            extra = SegmentRef(last.seq + 1, "ef" * 32, last.end, last.end + 2000, 1000)
            forged = dataclasses.replace(clip, segments=(*clip.segments, extra))
            return [forged.signed_by(ctx.station), *tail[1:]]

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


_YEAR = 365 * 86_400_000


def _clip_dated_after_sealing(data_dir: Path, ctx: StoreContext) -> None:
    """A clip whose footage and scans are dated a year after it was sealed, re-signed by
    the station (a chosen --epoch, a clock set ahead): the audit compared no times."""

    def go(store: Store) -> None:
        start = _index_of(store, "clip", 0)

        def edit(tail: list[Entry]) -> list[Entry]:
            clip = tail[0]
            assert isinstance(clip, Clip)
            forged = dataclasses.replace(
                clip,
                started=clip.started + _YEAR,
                ended=clip.ended + _YEAR,
                scans=tuple(dataclasses.replace(sc, t=sc.t + _YEAR) for sc in clip.scans),
            )
            return [forged.signed_by(ctx.station), *tail[1:]]

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


def _segment_dated_after_logging(data_dir: Path, ctx: StoreContext) -> None:
    """Segment entries from one on dated a year after they were logged."""

    def go(store: Store) -> None:
        start = _index_of(store, "segment", 20)

        def edit(tail: list[Entry]) -> list[Entry]:
            return [
                dataclasses.replace(e, start=e.start + _YEAR, end=e.end + _YEAR)
                if isinstance(e, Segment)
                else e
                for e in tail
            ]

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


def _segment_seq_gap(data_dir: Path, ctx: StoreContext) -> None:
    """A segment entry dropped and the log rebuilt and re-signed: its number is missing."""

    def go(store: Store) -> None:
        start = _index_of(store, "segment", 20)
        rewrite_log(store, ctx.station, start, lambda tail: tail[1:], resign="all")

    _with_store(data_dir, go)


def _time_gap(data_dir: Path, ctx: StoreContext) -> None:
    """A segment dropped and the later ones renumbered: the numbers run on, time does not."""

    def go(store: Store) -> None:
        start = _index_of(store, "segment", 20)

        def edit(tail: list[Entry]) -> list[Entry]:
            out: list[Entry] = []
            for e in tail[1:]:
                if isinstance(e, Segment):
                    e = dataclasses.replace(e, seq=e.seq - 1)
                out.append(e)
            return out

        rewrite_log(store, ctx.station, start, edit, resign="all")

    _with_store(data_dir, go)


def _purge_ahead(data_dir: Path, ctx: StoreContext) -> None:
    """A purge entry slipped in early that covers footage recorded after it."""

    def go(store: Store) -> None:
        start = _index_of(store, "segment", 3)
        purge = Purge(1, 30, 35, "retention: media older than 90 days")
        rewrite_log(store, ctx.station, start, lambda tail: [purge, *tail], resign="all")

    _with_store(data_dir, go)


def _uncertified_station(data_dir: Path, ctx: StoreContext) -> None:
    """The station-key entry certified by another root (the log rebuilt from entry 0)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def go(store: Store) -> None:
        impostor = Ed25519Signer(ctx.root.name, Ed25519PrivateKey.generate())

        def edit(tail: list[Entry]) -> list[Entry]:
            key = tail[0]
            assert key.KIND == "station-key"
            forged = dataclasses.replace(key, root=impostor.verifier.vkey, cert="")
            return [forged.certified_by(impostor), *tail[1:]]  # type: ignore[attr-defined]

        rewrite_log(store, ctx.station, 0, edit, resign="all")

    _with_store(data_dir, go)


def _blob_dir_swapped(data_dir: Path, ctx: StoreContext) -> None:
    """Two segments' files swapped (each still named by the other's hash)."""

    def go(store: Store) -> None:
        a, b = _blob(data_dir, store, "segment", 4), _blob(data_dir, store, "segment", 5)
        tmp = a.with_suffix(".tmp")
        shutil.move(a, tmp)
        shutil.move(b, a)
        shutil.move(tmp, b)

    _with_store(data_dir, go)


STORE_ATTACKS: list[Attack] = [
    Attack(
        "clip dated after it was sealed",
        "store",
        _clip_dated_after_sealing,
        "clips",
        r"(close|scan) is dated .* s after the station sealed the clip",
    ),
    Attack(
        "segments dated after they were logged",
        "store",
        _segment_dated_after_logging,
        "segments",
        r"segment 20 ends .* s after the station logged it",
    ),
    Attack("entry edited (data only)", "store", _edit_data, "entries", "was edited"),
    Attack(
        "entry edited with its leaf hash",
        "store",
        _edit_data_and_leaf,
        "entries",
        "leaf hash the tree recorded",
    ),
    Attack(
        "entry re-encoded as non-canonical JSON",
        "store",
        _not_canonical,
        "entries",
        "is not canonical JSON",
    ),
    Attack("entry deleted", "store", _delete_entry, "entries", r"entry \d+ is missing"),
    Attack("entries reordered", "store", _reorder, "entries", r"entries \d+\.\.\d+ do not match"),
    Attack("entry inserted", "store", _insert, "entries", "the tree recorded when"),
    Attack("log head rewound", "store", _head_rewound, "head", "head says size"),
    Attack("stored subtree hash changed", "store", _subtree_changed, "tree", "subtree hash"),
    Attack(
        "checkpoint signed by another key",
        "store",
        _foreign_checkpoint,
        "checkpoints",
        "no signature by a trusted key",
    ),
    Attack(
        "segment blob deleted without a purge entry",
        "store",
        _blob_deleted,
        "blobs",
        "no purge entry covers it",
    ),
    Attack("segment blob content changed", "store", _blob_changed, "blobs", "content changed"),
    Attack("segment blob truncated", "store", _blob_truncated, "blobs", "content changed"),
    Attack("segment blobs swapped", "store", _blob_dir_swapped, "blobs", "sha256 expected"),
    Attack("init section changed", "store", _init_changed, "blobs", r"init section .* changed"),
    Attack("init section deleted", "store", _init_deleted, "blobs", "were not purged"),
    Attack("log rolled back vs a saved checkpoint", "store", _rolled_back, "against", "rollback"),
    Attack(
        "old entry rewritten, latest checkpoint re-signed (two inconsistent checkpoints)",
        "store",
        _forked_resign_latest,
        "consistency",
        "the log forked",
    ),
    Attack(
        "old entry rewritten, every checkpoint re-signed (vs a saved checkpoint)",
        "store",
        _forked_resign_all,
        "against",
        "the log forked",
    ),
    Attack(
        "clip re-signed with a segment hash not in the log",
        "store",
        _clip_foreign_hash,
        "clips",
        "differs from the segment entry",
    ),
    Attack(
        "clip edited without the station's signature",
        "store",
        _clip_unsigned_edit,
        "clips",
        "signature does not verify",
    ),
    Attack(
        "clip re-signed with a segment the log does not have",
        "store",
        _clip_segment_not_logged,
        "clips",
        "is not in the log before the clip",
    ),
    Attack(
        "segment entry removed and the log re-signed (a hole in the numbers)",
        "store",
        _segment_seq_gap,
        "segments",
        "segment 20 is not in the log",
    ),
    Attack(
        "segment removed and the rest renumbered (an unexplained time gap)",
        "store",
        _time_gap,
        "gaps",
        "no gap entry explains it",
    ),
    Attack(
        "purge entry covering footage recorded after it",
        "store",
        _purge_ahead,
        "purges",
        "not logged before it",
    ),
    Attack(
        "station key certified by another root",
        "store",
        _uncertified_station,
        "station-keys",
        "certified by root",
    ),
]
