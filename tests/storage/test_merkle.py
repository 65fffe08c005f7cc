"""RFC 6962 math against the transparency-dev/merkle vectors (vendored in vectors/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage import merkle
from storage._errors import ProofError

V = json.loads((Path(__file__).parent / "vectors" / "rfc6962.json").read_text())
LEAVES = [bytes.fromhex(x) for x in V["leaves"]]
LEAF_HASHES = [merkle.leaf_hash(x) for x in LEAVES]
ROOTS = [bytes.fromhex(x) for x in V["roots"]]
C = {k: bytes.fromhex(v) for k, v in V["constants"].items() if k.endswith(("hash", "_hex"))}
U64 = 2**64


def _h(xs: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in xs]


def test_hasher_examples() -> None:
    assert merkle.EMPTY_ROOT.hex() == V["empty_root"]
    for ex in V["hasher_examples"]:
        want = bytes.fromhex(ex["expected"])
        if ex["op"] == "hash_leaf":
            assert merkle.leaf_hash(bytes.fromhex(ex["input_hex"])) == want
        elif ex["op"] == "hash_children":
            assert (
                merkle.node_hash(bytes.fromhex(ex["left_hex"]), bytes.fromhex(ex["right_hex"]))
                == want
            )
        else:
            assert merkle.root([]) == want


@pytest.mark.parametrize("size", range(1, 9))
def test_roots(size: int) -> None:
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size - 1]


def _inclusion_vectors() -> list[dict[str, Any]]:
    return [v for v in V["inclusion"] + V["reference_inclusion"] if not v.get("skip")]


@pytest.mark.parametrize("vec", _inclusion_vectors())
def test_inclusion_vectors(vec: dict[str, Any]) -> None:
    index, size, proof = vec["index"], vec["size"], _h(vec["proof"])
    assert merkle.inclusion_proof(index, LEAF_HASHES[:size]) == proof
    merkle.verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size - 1])


def _consistency_vectors() -> list[dict[str, Any]]:
    return V["consistency"] + V["reference_consistency"]


@pytest.mark.parametrize("vec", _consistency_vectors())
def test_consistency_vectors(vec: dict[str, Any]) -> None:
    s1, s2, proof = vec["size1"], vec["size2"], _h(vec["proof"])
    assert merkle.consistency_proof(s1, LEAF_HASHES[:s2]) == proof
    merkle.verify_consistency(s1, s2, proof, ROOTS[s1 - 1], ROOTS[s2 - 1])


def _inclusion_corruptions(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]]:
    some = C["sha256_some_hash"]
    out = [
        ("index-1", ((index - 1) % U64, size, proof, root, leaf)),
        ("index+1", (index + 1, size, proof, root, leaf)),
        ("index^2", (index ^ 2, size, proof, root, leaf)),
        ("size*2", (index, size * 2, proof, root, leaf)),
        ("size/2", (index, size // 2, proof, root, leaf)),
        ("wrong leaf", (index, size, proof, root, b"WrongLeaf")),
        ("empty root", (index, size, proof, C["sha256_empty_tree_hash"], leaf)),
        ("random root", (index, size, proof, some, leaf)),
        ("trailing garbage", (index, size, [*proof, b""], root, leaf)),
        ("trailing root", (index, size, [*proof, root], root, leaf)),
        ("preceding garbage", (index, size, [b"", *proof], root, leaf)),
        ("preceding root", (index, size, [root, *proof], root, leaf)),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 0x08]) + flipped[i][1:]
        out.append((f"bit flip in proof[{i}]", (index, size, flipped, root, leaf)))
    if proof:
        out.append(("removed component", (index, size, proof[:-1], root, leaf)))
    if len(proof) > 1:
        out.append(("inserted component", (index, size, [proof[0], some, *proof[1:]], root, leaf)))
    return out


def _all_inclusion_corruptions() -> list[Any]:
    out = []
    for vec in _inclusion_vectors():
        size, index = vec["size"], vec["index"]
        args = (index, size, _h(vec["proof"]), ROOTS[size - 1], LEAF_HASHES[index])
        for name, bad in _inclusion_corruptions(*args):
            out.append(pytest.param(bad, id=f"{index}/{size}:{name}"))
    return out


@pytest.mark.parametrize("bad", _all_inclusion_corruptions())
def test_inclusion_corruptions_fail(bad: tuple[int, int, list[bytes], bytes, bytes]) -> None:
    index, size, proof, root, leaf = bad
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, leaf, proof, root)


def _all_consistency_corruptions() -> list[Any]:
    out = []
    for vec in _consistency_vectors():
        s1, s2, proof = vec["size1"], vec["size2"], _h(vec["proof"])
        if not proof:
            continue
        r1, r2 = ROOTS[s1 - 1], ROOTS[s2 - 1]
        cases: list[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]] = [
            ("size1-1", (s1 - 1, s2, proof, r1, r2)),
            ("size1+1", (s1 + 1, s2, proof, r1, r2)),
            ("size1^2", (s1 ^ 2, s2, proof, r1, r2)),
            ("size2*2", (s1, s2 * 2, proof, r1, r2)),
            ("size2/2", (s1, s2 // 2, proof, r1, r2)),
            ("wrong root1", (s1, s2, proof, b"WrongRoot", r2)),
            ("wrong root2", (s1, s2, proof, r1, b"WrongRoot")),
            ("swapped roots", (s1, s2, proof, r2, r1)),
            ("empty proof", (s1, s2, [], r1, r2)),
            ("trailing garbage", (s1, s2, [*proof, b""], r1, r2)),
            ("trailing root1", (s1, s2, [*proof, r1], r1, r2)),
            ("trailing root2", (s1, s2, [*proof, r2], r1, r2)),
            ("preceding garbage", (s1, s2, [b"", *proof], r1, r2)),
            ("preceding root1", (s1, s2, [r1, *proof], r1, r2)),
            ("preceding root2", (s1, s2, [r2, *proof], r1, r2)),
            ("preceding proof[0]", (s1, s2, [proof[0], *proof], r1, r2)),
            ("truncated proof", (s1, s2, proof[:-1], r1, r2)),
        ]
        for i in range(len(proof)):
            flipped = list(proof)
            flipped[i] = bytes([flipped[i][0] ^ 0x10]) + flipped[i][1:]
            cases.append((f"bit flip in proof[{i}]", (s1, s2, flipped, r1, r2)))
        out += [pytest.param(bad, id=f"{s1}->{s2}:{name}") for name, bad in cases]
    return out


@pytest.mark.parametrize("bad", _all_consistency_corruptions())
def test_consistency_corruptions_fail(bad: tuple[int, int, list[bytes], bytes, bytes]) -> None:
    s1, s2, proof, r1, r2 = bad
    with pytest.raises(ProofError):
        merkle.verify_consistency(s1, s2, proof, r1, r2)


def test_degenerate_inclusion_probes_fail() -> None:
    probes = V["edge_cases"]["inclusion_degenerate"]
    for index, size in probes["index_size_pairs"]:
        for probe in probes["per_pair"]:
            leaf, root = (C.get(probe[k], b"") for k in ("leaf_hash", "root"))
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, size, leaf, [], root)


def test_single_entry_inclusion() -> None:
    h = merkle.leaf_hash(b"data")
    merkle.verify_inclusion(0, 1, h, [], h)
    for leaf, root in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(0, 1, leaf, [], root)


def test_consistency_from_empty_tree() -> None:
    # transparency-dev/merkle today: any tree is consistent with the empty tree, with an
    # empty proof; a non-empty proof from size 0 is malformed.
    merkle.verify_consistency(0, 5, [], merkle.EMPTY_ROOT, ROOTS[4])
    with pytest.raises(ProofError):
        merkle.verify_consistency(0, 5, [ROOTS[0]], merkle.EMPTY_ROOT, ROOTS[4])


# -- beyond the vectors: every index and size pair up to 70 leaves ---------------------

BIG = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70)]


def test_all_inclusion_proofs_small_trees() -> None:
    for size in range(1, 70):
        r = merkle.root(BIG[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(index, BIG[:size])
            merkle.verify_inclusion(index, size, BIG[index], proof, r)
            if size > 1:
                with pytest.raises(ProofError):
                    merkle.verify_inclusion((index + 1) % size, size, BIG[index], proof, r)


def test_all_consistency_proofs_small_trees() -> None:
    roots = [merkle.root(BIG[:n]) for n in range(70)]
    for s2 in range(1, 70):
        for s1 in range(1, s2 + 1):
            proof = merkle.consistency_proof(s1, BIG[:s2])
            merkle.verify_consistency(s1, s2, proof, roots[s1], roots[s2])
            if s1 < s2:
                with pytest.raises(ProofError):
                    merkle.verify_consistency(
                        s1, s2, proof, roots[s1 - 1] if s1 > 1 else BIG[1], roots[s2]
                    )


def test_frontier_reports_every_perfect_subtree() -> None:
    f = merkle.Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for h in BIG[:37]:
        nodes.update(dict(f.append(h)))
    assert f.root() == merkle.root(BIG[:37])
    for (level, idx), h in nodes.items():
        assert h == merkle.root(BIG[idx << level : (idx + 1) << level])
    rebuilt = merkle.Frontier.from_nodes(37, [nodes[n] for n in merkle.perfect_nodes(0, 37)])
    assert rebuilt.root() == f.root()
    lookup: Callable[[tuple[int, int]], bytes] = nodes.__getitem__
    assert merkle.range_hash(32, 37, lookup) == merkle.root(BIG[32:37])


def test_perfect_nodes_tile_the_range() -> None:
    assert merkle.perfect_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.perfect_nodes(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError, match="empty"):
        merkle.perfect_nodes(5, 5)
