"""The log on real databases: appends, proofs, checkpoints, and tampering caught by verify."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from storage import Ed25519Signer, LogIntegrityError, LogStateError, Store, merkle
from storage._schema import checkpoints, entries, logs, nodes
from storage.checkpoint import Checkpoint, TlogProof, sign_checkpoint
from storage.entries import GENESIS
from tests import factories as f
from tests.storage.tamper import insert_entry


def _fill(store: Store, station: Ed25519Signer, root: Ed25519Signer, n: int = 40) -> None:
    store.append([f.station_key(station, root)])
    store.append([f.segment(i) for i in range(n // 2 - 1)])
    store.sign_checkpoint(station, f.T0)
    store.append([f.segment(i) for i in range(n // 2 - 1, n - 1)])
    store.sign_checkpoint(station, f.T0 + 1)


def test_append_sets_prev_chain(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    prev = GENESIS
    leaves = []
    for i, data in store.entries():
        assert data.decode().find(f'"prev":"{prev}"') >= 0, i
        prev = merkle.leaf_hash(data).hex()
        leaves.append(merkle.leaf_hash(data))
    assert store.size() == 40
    assert store.root() == merkle.root(leaves)
    assert store.root(17) == merkle.root(leaves[:17])


def test_proofs_match_reference(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    leaves = [merkle.leaf_hash(d) for _, d in store.entries()]
    for size in (1, 2, 7, 8, 21, 40):
        for index in range(0, size, 3):
            assert store.inclusion_proof(index, size) == merkle.inclusion_proof(
                index, leaves[:size]
            )
        for old in range(0, size + 1, 2):
            assert store.consistency_proof(old, size) == merkle.consistency_proof(
                old, leaves[:size]
            )


def test_tlog_proof_verifies(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    proof = TlogProof.from_bytes(store.tlog_proof(25).to_bytes())
    signed = proof.verify(store.entry(25), [station_signer.verifier])
    assert signed.checkpoint.size == 40
    store.append([f.gap(f.T0, f.T0 + 1)])
    with pytest.raises(LogStateError, match="not covered by a signed checkpoint"):
        store.tlog_proof(40)


def test_checkpoint_is_stable_per_size(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    a = store.sign_checkpoint(station_signer, f.T0 + 5)
    b = store.sign_checkpoint(station_signer, f.T0 + 9)
    assert a == b
    assert [c.size for c in store.checkpoints()] == [20, 40]


def test_batch_is_atomic(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    # A duplicate segment sequence number violates the index's primary key mid-batch.
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store.append([f.segment(100), f.segment(101), f.segment(100)])
    assert store.size() == 40
    store.verify_log([station_signer.verifier])


def test_verify_clean(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer
) -> None:
    _fill(store, station_signer, root_signer)
    report = store.verify_log([station_signer.verifier])
    assert report.size == 40
    assert report.checkpoints == 2
    assert report.kinds == {"station-key": 1, "segment": 39}


# -- tampering: each must be caught, naming the entry ----------------------------------


def _edit(store: Store, idx: int, **values: object) -> None:
    with store._engine.begin() as conn:
        conn.execute(
            update(entries)
            .where(entries.c.log_id == store._log.log_id, entries.c.idx == idx)
            .values(**values)
        )


def _row(store: Store, idx: int) -> tuple[bytes, bytes]:
    with store._engine.connect() as conn:
        r = conn.execute(
            select(entries.c.data, entries.c.leaf_hash).where(entries.c.idx == idx)
        ).one()
    return bytes(r.data), bytes(r.leaf_hash)


def _tamper_edit_data(store: Store) -> int:
    data, _ = _row(store, 12)
    _edit(store, 12, data=data.replace(b'"frames":60', b'"frames":61'))
    return 12


def _tamper_edit_data_and_leaf(store: Store) -> int:
    data, _ = _row(store, 12)
    new = data.replace(b'"frames":60', b'"frames":61')
    _edit(store, 12, data=new, leaf_hash=merkle.leaf_hash(new))
    return 12


def _tamper_edit_everything_below_checkpoint(store: Store) -> int:
    # Rewrite entry 39 (after the first checkpoint) with its leaf and subtree hashes: only
    # the second checkpoint's signed root can tell.
    data, _ = _row(store, 39)
    new = data.replace(b'"frames":60', b'"frames":59')
    leaf = merkle.leaf_hash(new)
    _edit(store, 39, data=new, leaf_hash=leaf)
    with store._engine.begin() as conn:
        conn.execute(update(nodes).where(nodes.c.level == 0, nodes.c.idx == 39).values(hash=leaf))
        conn.execute(update(logs).values(head=leaf))
    return 40


def _tamper_delete(store: Store) -> int:
    with store._engine.begin() as conn:
        conn.execute(delete(entries).where(entries.c.idx == 7))
    return 7


def _tamper_delete_last(store: Store) -> int:
    with store._engine.begin() as conn:
        conn.execute(delete(entries).where(entries.c.idx == 39))
    return 39


def _tamper_reorder(store: Store) -> int:
    a, la = _row(store, 5)
    b, lb = _row(store, 6)
    _edit(store, 5, data=b, leaf_hash=lb)
    _edit(store, 6, data=a, leaf_hash=la)
    return 5


def _tamper_insert(store: Store) -> int:
    insert_entry(store, 30, 40)
    return 30


def _tamper_foreign_checkpoint(store: Store) -> int:
    other = Ed25519Signer(store.origin, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(store.origin, 20, store.root(20)), other)
    with store._engine.begin() as conn:
        conn.execute(update(checkpoints).where(checkpoints.c.size == 20).values(note=note))
    return 20


def _tamper_checkpoint_root(store: Store) -> int:
    with store._engine.begin() as conn:
        conn.execute(
            update(checkpoints).where(checkpoints.c.size == 20).values(root_hash=b"\x00" * 32)
        )
    return 20


def _tamper_node(store: Store) -> int:
    with store._engine.begin() as conn:
        conn.execute(
            update(nodes).where(nodes.c.level == 2, nodes.c.idx == 3).values(hash=b"\x11" * 32)
        )
    return 12


TAMPERS = {
    "entry edited": (_tamper_edit_data, "was edited"),
    "entry edited with its leaf hash": (_tamper_edit_data_and_leaf, "tree recorded"),
    "entry and subtree hashes rewritten": (_tamper_edit_everything_below_checkpoint, "signed root"),
    "entry deleted": (_tamper_delete, "is missing"),
    "last entry deleted": (_tamper_delete_last, "head says size"),
    "entries reordered": (_tamper_reorder, "tree recorded"),
    "entry inserted": (_tamper_insert, "tree recorded"),
    "checkpoint signed by another key": (
        _tamper_foreign_checkpoint,
        "no signature by a trusted key",
    ),
    "checkpoint row root changed": (_tamper_checkpoint_root, "does not match its row"),
    "subtree hash changed": (_tamper_node, "stored subtree hash"),
}


@pytest.mark.parametrize("name", TAMPERS)
def test_verify_catches(
    store: Store, station_signer: Ed25519Signer, root_signer: Ed25519Signer, name: str
) -> None:
    _fill(store, station_signer, root_signer)
    tamper, message = TAMPERS[name]
    index = tamper(store)
    with pytest.raises(LogIntegrityError, match=message) as caught:
        store.verify_log([station_signer.verifier])
    assert caught.value.index == index


def test_unknown_origin(db_url: str, tmp_path: object) -> None:
    with pytest.raises(LogStateError, match="no log with origin") as caught:
        Store.open(db_url, tmp_path / "b", "nope.example/log")  # type: ignore[operator]
    assert "packseal init" in str(caught.value.hint)
