"""Log.scan in reporting mode: every problem once, under its check, and the scan goes on."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, update

from storage import Ed25519Signer, LogIntegrityError, Store, StoredCheckpoint, merkle
from storage._schema import checkpoints, entries
from storage.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from tests import factories as f
from tests.storage.tamper import insert_entry


def _fill(store: Store, station: Ed25519Signer, root: Ed25519Signer, n: int = 60) -> None:
    store.append([f.station_key(station, root)])
    for lo in range(0, n - 1, 10):
        store.append([f.segment(i) for i in range(lo, min(lo + 10, n - 1))])
        store.sign_checkpoint(station, f.T0)


def _scan(store: Store, station: Ed25519Signer, **kw: Any) -> tuple[list[tuple[str, int]], Any]:
    problems: list[tuple[str, int]] = []

    def on_problem(check: str, e: LogIntegrityError) -> None:
        assert e.index is not None
        problems.append((check, e.index))

    report = store.scan_log([station.verifier], on_problem=on_problem, **kw)
    return problems, report


def test_an_honest_log_streams_everything(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    seen: list[int] = []
    cps: list[tuple[int, bool, bool]] = []

    def on_checkpoint(cp: StoredCheckpoint, signed: SignedCheckpoint | None, root: Any) -> None:
        cps.append((cp.size, signed is not None, root == cp.root_hash))

    problems, report = _scan(
        store,
        station_signer,
        on_entry=lambda i, data, obj: seen.append(i) if obj["kind"] else None,
        on_checkpoint=on_checkpoint,
        roots_at=(0, 7, 60),
    )
    assert problems == []
    assert seen == list(range(60))
    assert cps == [(s, True, True) for s in (11, 21, 31, 41, 51, 60)]
    assert report.roots == {0: merkle.EMPTY_ROOT, 7: store.root(7), 60: store.root(60)}


def test_every_problem_once_and_the_scan_goes_on(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    other = Ed25519Signer(store.origin, Ed25519PrivateKey.generate())
    with store._engine.begin() as conn:
        # (checkpoints at 11, 21, .., 51, 60) entry 12 edited (bytes only), entry 25
        # deleted, entries 44/45 swapped, the checkpoint at 51 signed by another key
        data12 = store.entry(12).replace(b'"frames":60', b'"frames":61')
        conn.execute(update(entries).where(entries.c.idx == 12).values(data=data12))
        conn.execute(delete(entries).where(entries.c.idx == 25))
        d44, d45 = store.entry(44), store.entry(45)
        conn.execute(
            update(entries)
            .where(entries.c.idx == 44)
            .values(data=d45, leaf_hash=merkle.leaf_hash(d45))
        )
        conn.execute(
            update(entries)
            .where(entries.c.idx == 45)
            .values(data=d44, leaf_hash=merkle.leaf_hash(d44))
        )
        note = sign_checkpoint(Checkpoint(store.origin, 51, store.root(51)), other)
        conn.execute(update(checkpoints).where(checkpoints.c.size == 51).values(note=note))
    problems, report = _scan(store, station_signer)
    assert sorted(problems, key=lambda p: p[1]) == [
        ("entries", 12),  # its bytes do not give its leaf hash
        ("checkpoints", 21),  # so the signed root over it is not the entries' root
        # missing: the scan resumes from the tree stored for 26 entries (which still
        # has entry 12's first leaf, so the checkpoints at 31 and 41 match it)
        ("entries", 25),
        ("entries", 44),  # 44 and 45 moved: one finding for the run
        ("checkpoints", 51),  # another key
        ("checkpoints", 60),  # its root covers the moved entries
    ]
    assert report.size == 60


def test_an_insertion_is_one_finding_not_one_per_shifted_entry(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer, n=40)
    insert_entry(store, 30, 40)
    problems, _ = _scan(store, station_signer)
    checks = [c for c, _ in problems]
    assert checks.count("entries") <= 3
    assert ("head", 40) in problems
