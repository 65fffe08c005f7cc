"""RFC 6962 / RFC 9162 Merkle tree math, pure functions over bytes.

Hashing: leaf ``SHA-256(0x00 || data)``, node ``SHA-256(0x01 || left || right)``.

Proofs are generated as lists of leaf *ranges* ``[lo, hi)`` whose subtree hashes the
proof carries; a range is split into *perfect* subtrees (aligned, power-of-two sized),
addressed as ``(level, index)`` covering leaves ``[index << level, (index + 1) << level)``.
A store that keeps every perfect subtree hash can therefore answer any proof with
O(log^2 n) lookups and no leaves in memory (see :func:`perfect_nodes`).

Verification follows transparency-dev/merkle (``proof/verify.go``), which checks the
exact proof length, so extra or missing hashes are rejected rather than ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from storage._errors import ProofError

HASH_SIZE = 32
Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [lo, hi)

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 section 2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- ranges and perfect subtrees ------------------------------------------------------


def perfect_nodes(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees that tile ``[lo, hi)``, left to right, largest first.

    ``lo`` must be aligned as RFC 9162's recursion aligns it (a multiple of the largest
    power of two not exceeding ``hi - lo``); every range a proof or a root asks for is.
    """
    if not 0 <= lo < hi:
        raise ValueError(f"empty or negative range [{lo}, {hi})")
    out: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from its perfect subtrees (left to right): a right fold."""
    if not hashes:
        raise ValueError("no subtree hashes to fold")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(lo: int, hi: int, lookup: Callable[[Node], bytes]) -> bytes:
    return fold([lookup(n) for n in perfect_nodes(lo, hi)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of leaf ``index`` (RFC 9162 PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """The ranges whose hashes form the consistency proof between two sizes (RFC 9162)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"consistency needs 0 <= size1 <= size2, got {size1}, {size2}")
    if size1 in (0, size2):
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, size2, size1, True
    while True:
        if m == hi - lo:
            if not complete:
                out.append((lo, hi))
            break
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    return {n for lo, hi in ranges for n in perfect_nodes(lo, hi)}


def hashes_for(ranges: Sequence[Range], known: Mapping[Node, bytes]) -> list[bytes]:
    return [fold([known[n] for n in perfect_nodes(lo, hi)]) for lo, hi in ranges]


# -- in-memory computation over leaf hashes (small trees, tests, verification) ---------


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes; the empty tree hashes to SHA-256 of nothing."""
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return _proof_from_leaves(inclusion_ranges(index, len(leaf_hashes)), leaf_hashes)


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return _proof_from_leaves(consistency_ranges(size1, len(leaf_hashes)), leaf_hashes)


def _proof_from_leaves(ranges: Sequence[Range], leaf_hashes: Sequence[bytes]) -> list[bytes]:
    return [root(leaf_hashes[lo:hi]) for lo, hi in ranges]


@dataclass(slots=True)
class Frontier:
    """The right edge of a growing tree: one perfect subtree per set bit of its size.

    Appending returns the perfect subtrees the new leaf completes, so a store can save
    them; the memory is O(log n) whatever the size.
    """

    size: int = 0
    stack: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash), left to right

    @classmethod
    def from_nodes(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """Rebuild from the hashes of ``perfect_nodes(0, size)`` (in that order)."""
        nodes = perfect_nodes(0, size) if size else []
        if len(nodes) != len(hashes):
            raise ValueError(f"size {size} needs {len(nodes)} frontier hashes, got {len(hashes)}")
        return cls(size, [(lvl, h) for (lvl, _), h in zip(nodes, hashes, strict=True)])

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add a leaf hash; return ``[((level, index), hash), ...]`` of every completed node."""
        index = self.size
        completed: list[tuple[Node, bytes]] = [((0, index), leaf)]
        level, h = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            h = node_hash(left, h)
            level += 1
            completed.append(((level, index >> level), h))
        self.stack.append((level, h))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        return fold([h for _, h in self.stack])


# -- verification (transparency-dev/merkle proof/verify.go) ----------------------------


def _decompose(index: int, size: int) -> tuple[int, int]:
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def _check_hashes(proof: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what} hash {i} is {len(h)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"inclusion proof: leaf hash is {len(leaf)} bytes, expected 32")
    _check_hashes(proof, "inclusion proof")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(
            f"inclusion proof for index {index} in size {size}: "
            f"expected {inner + border} hashes, found {len(proof)}"
        )
    res = _chain_inner(leaf, proof[:inner], index)
    return _chain_border_right(res, proof[inner:])


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is at ``index`` in the tree with ``root_hash``."""
    got = root_from_inclusion_proof(index, size, leaf, proof)
    if got != root_hash:
        raise ProofError(
            f"inclusion proof for index {index} in size {size} leads to root "
            f"{got.hex()[:16]}…, expected {root_hash.hex()[:16]}…"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise :class:`ProofError` unless the tree ``(size2, root2)`` extends ``(size1, root1)``."""
    _check_hashes(proof, "consistency proof")
    if size1 < 0 or size2 < size1:
        raise ProofError(f"consistency proof: size1 {size1} > size2 {size2}")
    if size1 == size2:
        if proof:
            raise ProofError(
                f"consistency proof between equal sizes must be empty, has {len(proof)}"
            )
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError(
                f"consistency proof from the empty tree must be empty, has {len(proof)}"
            )
        return
    if not proof:
        raise ProofError(f"consistency proof from {size1} to {size2} is empty")
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    seed, start = proof[0], 1
    if size1 == 1 << shift:
        seed, start = root1, 0
    if len(proof) != start + inner + border:
        raise ProofError(
            f"consistency proof from {size1} to {size2}: expected {start + inner + border} "
            f"hashes, found {len(proof)}"
        )
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if hash1 != root1:
        raise ProofError(
            f"consistency proof from {size1} to {size2} does not lead to the old root "
            f"{root1.hex()[:16]}… (got {hash1.hex()[:16]}…)"
        )
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if hash2 != root2:
        raise ProofError(
            f"consistency proof from {size1} to {size2} does not lead to the new root "
            f"{root2.hex()[:16]}… (got {hash2.hex()[:16]}…)"
        )
