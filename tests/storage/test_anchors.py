"""Time-stamps and cosignatures kept beside checkpoints, on both database backends."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import Ed25519Signer, Store
from storage.cosignature import CosignatureSigner, cosignatures
from storage.note import parse
from tests.factories import segment


def test_anchors_pick_the_tightest_checkpoint(store: Store, station_signer: Ed25519Signer) -> None:
    anchors = store.anchors
    w1 = CosignatureSigner("w1", Ed25519PrivateKey.generate())
    w2 = CosignatureSigner("w2", Ed25519PrivateKey.generate())
    sizes = []
    for n in range(4):
        store.append([segment(n)])
        cp = store.sign_checkpoint(station_signer, n)
        sizes.append(cp.size)
        assert anchors.owed_stamp("tsa") == cp
        assert anchors.owed_cosignature("w1") == cp
    text = {s: parse(store.checkpoint_at(s).note)[0] for s in sizes}  # type: ignore[union-attr]
    anchors.add_stamp(3, "tsa", b"q", b"r", 5, 6)
    anchors.add_stamp(3, "tsa", b"q2", b"r2", 7, 8)  # a second answer for one TSA: kept once
    anchors.add_cosignatures(2, [w1.cosign(text[2], 1)], 9)
    anchors.add_cosignatures(3, [w1.cosign(text[3], 2), w2.cosign(text[3], 3)], 9)
    anchors.add_cosignatures(3, [w1.cosign(text[3], 4)], 9)  # again: ignored
    assert [(s.tsa, s.response) for s in anchors.stamps(3)] == [("tsa", b"r")]
    assert anchors.last_cosigned_size("w1") == 3
    assert anchors.owed_cosignature("w2").size == 4  # type: ignore[union-attr]
    best = anchors.best_checkpoint
    assert best(0).size == 1  # type: ignore[union-attr]
    assert best(0, witnesses=["w1"], quorum=1).size == 2  # type: ignore[union-attr]
    assert best(0, witnesses=["w1", "w2"], quorum=2).size == 3  # type: ignore[union-attr]
    assert best(0, witnesses=["w1"], quorum=1, stamped=True).size == 3  # type: ignore[union-attr]
    assert best(3, witnesses=["w1"], quorum=1) is None
    note = anchors.cosigned_note(store.checkpoint_at(3))  # type: ignore[arg-type]
    assert {c.name for c in cosignatures(note, [w1.verifier, w2.verifier])} == {"w1", "w2"}
