from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import merkle, note
from storage._errors import FormatError, ProofError, SignatureError
from storage.checkpoint import Checkpoint, TlogProof, open_checkpoint, sign_checkpoint

V = json.loads((Path(__file__).parent / "vectors" / "notes.json").read_text())


def test_go_tree_note_golden() -> None:
    tree = V["tlog_tree"]["format_tree"]
    cp = Checkpoint("go.sum database tree", tree["n"], bytes.fromhex(tree["hash_hex"]))
    assert cp.to_text() == tree["golden"]
    assert Checkpoint.from_text(tree["golden"]) == cp


@pytest.mark.parametrize("case", V["tlog_tree"]["parse_tree_bad"][1:], ids=lambda c: c["reason"])
def test_go_tree_note_bad(case: dict[str, str]) -> None:
    with pytest.raises(FormatError):
        Checkpoint.from_text(case["input"])


def test_c2sp_checkpoint_example_parses() -> None:
    ex = V["c2sp_examples"]["checkpoint_example"]
    text, _ = note.parse(ex["note"].encode())
    cp = Checkpoint.from_text(text)
    assert (cp.origin, cp.size, base64.b64encode(cp.root_hash).decode()) == (
        ex["origin"],
        ex["size"],
        ex["root_b64"],
    )


@pytest.mark.parametrize(
    "text",
    [
        "origin\n012\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n1\nAAAA\n",
        "origin\n1\n",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
    ],
)
def test_checkpoint_rejects(text: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.from_text(text)


def test_extensions_roundtrip() -> None:
    cp = Checkpoint("example.com/log", 5, b"\x01" * 32, ("ext one", "ext two"))
    assert Checkpoint.from_text(cp.to_text()) == cp


def _signed_proof(
    signer: note.Ed25519Signer, n: int = 11, index: int = 6
) -> tuple[bytes, TlogProof]:
    entries_ = [f"entry {i}".encode() for i in range(n)]
    leaves = [merkle.leaf_hash(e) for e in entries_]
    cp = sign_checkpoint(Checkpoint(signer.name, n, merkle.root(leaves)), signer)
    proof = TlogProof(index, tuple(merkle.inclusion_proof(index, leaves)), cp)
    return entries_[index], proof


def test_tlog_proof_roundtrip_and_verify(station_signer: note.Ed25519Signer) -> None:
    entry, proof = _signed_proof(station_signer)
    data = proof.to_bytes()
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nindex 6\n")
    back = TlogProof.from_bytes(data)
    assert back == proof
    signed = back.verify(entry, [station_signer.verifier])
    assert signed.checkpoint.size == 11
    with pytest.raises(ProofError, match="not leaf 6"):
        back.verify(b"entry 7", [station_signer.verifier])
    extra = TlogProof(proof.index, proof.hashes, proof.checkpoint, b"\x00\x01")
    assert TlogProof.from_bytes(extra.to_bytes()) == extra


def test_checkpoint_needs_origin_key(
    station_signer: note.Ed25519Signer, root_signer: note.Ed25519Signer
) -> None:
    _, proof = _signed_proof(station_signer)
    with pytest.raises(SignatureError, match="no trusted key for log origin"):
        open_checkpoint(proof.checkpoint, [root_signer.verifier])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.replace(b"tlog-proof@v1", b"tlog-proof@v2"),
        lambda d: d.replace(b"index 6", b"index 06"),
        lambda d: d.replace(b"index 6", b"idx 6"),
        lambda d: d.replace(b"\n\n", b"\n"),
        lambda d: d.split(b"\n\n")[0] + b"\n\n",
        lambda d: d.replace(b"=\n", b"\n", 1),
    ],
)
def test_tlog_proof_rejects(station_signer: note.Ed25519Signer, mangle: object) -> None:
    _, proof = _signed_proof(station_signer)
    with pytest.raises(FormatError):
        TlogProof.from_bytes(mangle(proof.to_bytes()))  # type: ignore[operator]


@given(st.binary(max_size=400))
def test_tlog_proof_hostile_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        TlogProof.from_bytes(data)


@given(st.binary(max_size=300))
def test_note_hostile_bytes(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        note.parse(data)
