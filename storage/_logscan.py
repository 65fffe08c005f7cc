"""The streaming pass behind :meth:`storage.log.Log.verify` and :meth:`~storage.log.Log.scan`.

One read snapshot, entries in index order: every leaf hash is recomputed from the
entry's bytes, every entry parsed as canonical JSON, the ``prev`` chain followed, the
tree rebuilt on a frontier (O(log n) memory) and every stored subtree hash compared in
batches of range scans, every stored checkpoint opened and its root compared when the
stream reaches its size. Memory stays O(log n + chunk) whatever the log's size.

In reporting mode (an ``on_problem`` callback) the scan does not stop: it reports each
tampered entry once, under the check that names it best, and does not repeat the
consequences (an edited entry breaks its successor's ``prev`` and every subtree above
it; those are the same finding).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
from collections.abc import Collection, Generator, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from storage import canonical, merkle
from storage._errors import FormatError, LogIntegrityError, VerificationError
from storage._logtypes import (
    LogReport,
    OnCheckpoint,
    OnEntry,
    OnProblem,
    Progress,
    StoredCheckpoint,
    stored_checkpoint,
)
from storage._nodes import NodeReader
from storage._schema import checkpoints, entries, logs
from storage.checkpoint import SignedCheckpoint, open_checkpoint
from storage.entries import GENESIS
from storage.note import NoteVerifier

# Entries per fetch, and per progress report. Subtree hashes are compared once twice
# this many are pending: ~8k nodes per batch of range scans.
CHUNK = 4096
_sha256 = hashlib.sha256


class LogScan:
    def __init__(
        self,
        engine: Engine,
        nodes: NodeReader,
        verifiers: Sequence[NoteVerifier],
        on_entry: OnEntry | None,
        on_checkpoint: OnCheckpoint | None,
        on_problem: OnProblem | None,
        roots_at: Collection[int],
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.nodes = nodes
        self.log_id = nodes.log_id
        self.origin = nodes.origin
        self.verifiers = list(verifiers)
        self.on_entry = on_entry
        self.on_checkpoint = on_checkpoint
        self.on_problem = on_problem
        self.roots_at = set(roots_at)
        self.roots: dict[int, bytes] = {}
        self.progress = progress
        # Leaves already reported as tampered: later findings they explain (their
        # successor's prev, the subtrees above them) are not reported again.
        self.flagged = _Spans()
        self.moved: tuple[int, int] | None = None  # leaves not matching the tree, not yet reported
        self.checkpoints = 0

    # -- reporting ---------------------------------------------------------------------

    def problem(self, check: str, message: str, index: int | None) -> None:
        error = LogIntegrityError(message, index=index)
        if self.on_problem is None:
            raise error
        self.on_problem(check, error)

    def flag(self, lo: int, hi: int | None = None) -> None:
        self.flagged.add(lo, lo + 1 if hi is None else hi)

    def flagged_in(self, lo: int, hi: int) -> bool:
        return self.flagged.meets(lo, hi)

    # -- the pass ----------------------------------------------------------------------

    def run(self) -> LogReport:
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for every statement of the scan (SQLite's read
                # transaction in WAL mode is one already).
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                state = conn.execute(
                    select(logs.c.size, logs.c.head).where(logs.c.id == self.log_id)
                ).one()
                size, head = int(state.size), bytes(state.head)
                with (
                    contextlib.closing(self._checkpoints(conn)) as cps,
                    contextlib.closing(self._rows(conn)) as rows,
                ):
                    kinds, expected, prev = self._stream(conn, rows, cps, size)
                    self._finish(conn, cps, size, head, expected, prev)
        if self.progress is not None:
            self.progress(expected, size)
        return LogReport(expected, self.checkpoints, kinds, self.roots)

    def _stream(
        self,
        conn: Connection,
        rows: Iterator[tuple[int, bytes, str, bytes]],
        cps: Iterator[StoredCheckpoint],
        size: int,
    ) -> tuple[dict[str, int], int, bytes]:
        frontier: merkle.Frontier | None = merkle.Frontier()
        self.next_cp = next(cps, None)
        self._checkpoints_until(cps, 0, merkle.EMPTY_ROOT)
        if 0 in self.roots_at:
            self.roots[0] = merkle.EMPTY_ROOT
        prev: bytes | None = bytes.fromhex(GENESIS)
        kinds: dict[str, int] = {}
        computed: dict[merkle.Node, bytes] = {}
        expected = 0
        on_entry = self.on_entry
        loads = canonical.loads
        for index, data, kind, stored_leaf in rows:
            if index != expected:
                if index < expected:
                    self.problem(
                        "entries",
                        f"log {self.origin}: entry {expected} is duplicated "
                        f"(next stored index is {index})",
                        expected,
                    )
                    continue
                self.problem(
                    "entries",
                    f"log {self.origin}: entry {expected} is missing (next stored index is {index})"
                    if index == expected + 1
                    else f"log {self.origin}: entries {expected}..{index - 1} are missing "
                    f"(next stored index is {index})",
                    expected,
                )
                self.flag(expected)
                self._check_nodes(conn, computed)
                computed.clear()
                frontier, prev = self._resync(conn, index)
                self._checkpoints_skipped(cps, index)
                self._checkpoints_until(
                    cps, index, frontier.root() if frontier is not None else None
                )
                expected = index
            leaf = _sha256(b"\x00" + data).digest()
            if leaf != stored_leaf:
                self.problem(
                    "entries",
                    f"entry {index}: stored leaf hash {stored_leaf.hex()[:16]}… does not match "
                    f"its bytes ({leaf.hex()[:16]}…): the entry was edited",
                    index,
                )
                self.flag(index)
            obj: Any = None
            try:
                obj = loads(data)
            except FormatError as e:
                self.problem("entries", f"entry {index} is not canonical JSON: {e}", index)
                self.flag(index)
                obj = _lenient(data)  # what it says still counts (its chain, its content)
            if obj is not None and (not isinstance(obj, dict) or obj.get("kind") != kind):
                self.problem(
                    "entries", f"entry {index}: kind column does not match its bytes", index
                )
                self.flag(index)
                obj = obj if isinstance(obj, dict) else None
            if frontier is not None:
                for node, h in frontier.append(leaf):
                    computed[node] = h
            if obj is not None and prev is not None and obj.get("prev") != prev.hex():
                # The tree recorded each leaf when it was appended: check those first,
                # they name the edited entry rather than its successor.
                self._check_nodes(conn, computed)
                computed.clear()
                if not self.flagged_in(index - 1, index + 1):
                    self.problem(
                        "chain",
                        f"entry {index}: prev is {str(obj.get('prev'))[:16]}…, expected the "
                        f"leaf hash of entry {index - 1} ({prev.hex()[:16]}…): entries were "
                        "removed, reordered or inserted",
                        index,
                    )
                    self.flag(index)
            kinds[kind] = kinds.get(kind, 0) + 1
            prev = leaf
            expected = index + 1
            if expected in self.roots_at and frontier is not None:
                self.roots[expected] = frontier.root()
            if self.next_cp is not None and self.next_cp.size == expected:
                self._checkpoints_until(
                    cps, expected, frontier.root() if frontier is not None else None
                )
            if obj is not None and on_entry is not None:
                on_entry(index, data, obj)
            if len(computed) >= 2 * CHUNK:
                self._check_nodes(conn, computed)
                computed.clear()
            if self.progress is not None and expected % CHUNK == 0:
                self.progress(expected, size)
        self._check_nodes(conn, computed)
        self._flush_moved()
        return kinds, expected, prev or b""

    def _finish(
        self,
        conn: Connection,
        cps: Iterator[StoredCheckpoint],
        size: int,
        head: bytes,
        expected: int,
        prev: bytes,
    ) -> None:
        if expected != size or prev != head:
            self.problem(
                "head",
                f"log {self.origin}: the log head says size {size}, but {expected} entries are "
                "stored (entries were deleted or appended outside the log)"
                if expected != size
                else f"log {self.origin}: the log head names leaf {head.hex()[:16]}… as the "
                f"last entry, but entry {expected - 1} hashes to {prev.hex()[:16]}…",
                min(expected, size),
            )
        while self.next_cp is not None:
            cp = self.next_cp
            self.problem(
                "checkpoints",
                f"checkpoint for size {cp.size} is beyond the log's {expected} entries "
                "(entries were deleted)",
                expected,
            )
            self._deliver(cp, self._open(cp), None)
            self.next_cp = next(cps, None)

    # -- checkpoints -------------------------------------------------------------------

    def _checkpoints(self, conn: Connection) -> Generator[StoredCheckpoint, None, None]:
        query = (
            select(checkpoints)
            .where(checkpoints.c.log_id == self.log_id)
            .order_by(checkpoints.c.size)
        )
        # Streamed like the entries: a station signs one per clip, so they grow with the log.
        result = conn.execution_options(stream_results=True, yield_per=256).execute(query)
        try:
            for row in result:
                yield stored_checkpoint(row)
        finally:
            result.close()

    def _checkpoints_until(
        self, cps: Iterator[StoredCheckpoint], size: int, root: bytes | None
    ) -> None:
        while self.next_cp is not None and self.next_cp.size == size:
            cp = self.next_cp
            signed = self._open(cp)
            if signed is not None and root is not None and root != signed.checkpoint.root_hash:
                self.problem(
                    "checkpoints",
                    f"checkpoint at size {cp.size}: signed root "
                    f"{signed.checkpoint.root_hash.hex()[:16]}… does not match the root of the "
                    f"stored entries {root.hex()[:16]}…",
                    cp.size,
                )
            self._deliver(cp, signed, root)
            self.next_cp = next(cps, None)

    def _checkpoints_skipped(self, cps: Iterator[StoredCheckpoint], upto: int) -> None:
        """Checkpoints whose size falls among missing entries: their root cannot be rebuilt."""
        while self.next_cp is not None and self.next_cp.size < upto:
            cp = self.next_cp
            self._deliver(cp, self._open(cp), None)
            self.next_cp = next(cps, None)

    def _open(self, cp: StoredCheckpoint) -> SignedCheckpoint | None:
        where = f"checkpoint at size {cp.size}"
        try:
            signed = open_checkpoint(cp.note, self.verifiers)
        except (VerificationError, FormatError) as e:
            self.problem("checkpoints", f"{where}: {e}", cp.size)
            return None
        body = signed.checkpoint
        if body.origin != self.origin or body.size != cp.size or body.root_hash != cp.root_hash:
            self.problem("checkpoints", f"{where}: the signed note does not match its row", cp.size)
            return None
        return signed

    def _deliver(
        self, cp: StoredCheckpoint, signed: SignedCheckpoint | None, root: bytes | None
    ) -> None:
        self.checkpoints += 1
        if self.on_checkpoint is not None:
            self.on_checkpoint(cp, signed, root)

    # -- the stored tree ---------------------------------------------------------------

    def _check_nodes(self, conn: Connection, computed: dict[merkle.Node, bytes]) -> None:
        if not computed:
            return
        spans: dict[int, tuple[int, int]] = {}
        for level, idx in computed:
            lo, hi = spans.get(level, (idx, idx))
            spans[level] = (min(lo, idx), max(hi, idx))
        stored = self.nodes.lookup_spans(conn, spans)
        wrong = [node for node, h in computed.items() if stored.get(node) != h]
        # Leaves first, in runs: one inserted or shifted entry moves every leaf after it,
        # and that is one finding, not one per entry.
        leaves = sorted(
            idx for level, idx in wrong if level == 0 and not self.flagged_in(idx, idx + 1)
        )
        for lo, hi in _runs(leaves):
            self.flag(lo, hi + 1)
            if self.on_problem is None:
                self._report_moved(lo, hi)  # raises
            elif self.moved is not None and lo == self.moved[1] + 1:
                self.moved = (self.moved[0], hi)  # a run that spans two batches is one finding
            else:
                self._flush_moved()
                self.moved = (lo, hi)
        for level, idx in wrong:
            first, count = idx << level, 1 << level
            if level == 0 or self.flagged_in(first, first + count):
                continue  # a finding already reported inside this subtree explains it
            self.problem(
                "tree",
                f"stored subtree hash (level {level}, index {idx}) for entries "
                f"{first}..{first + count - 1} does not match the entries",
                first,
            )
            self.flag(first, first + count)

    def _report_moved(self, lo: int, hi: int) -> None:
        self.problem(
            "entries",
            f"entry {lo} does not match the leaf hash the tree recorded when it was "
            "appended: the entry was edited, replaced or moved"
            if lo == hi
            else f"entries {lo}..{hi} do not match the leaf hashes the tree recorded when "
            "they were appended: entries were edited, replaced, moved or inserted",
            lo,
        )

    def _flush_moved(self) -> None:
        if self.moved is not None:
            self._report_moved(*self.moved)
            self.moved = None

    def _resync(self, conn: Connection, size: int) -> tuple[merkle.Frontier | None, bytes | None]:
        """After missing entries, continue from the tree the log stored for ``size`` leaves.

        The missing entries are reported; rebuilding from the stored subtrees lets the
        scan check everything after them instead of reporting each as a consequence.
        """
        try:
            frontier = self.nodes.frontier(conn, size)
        except LogIntegrityError:
            return None, None
        last = self.nodes.lookup(conn, [(0, size - 1)]).get((0, size - 1))
        return frontier, last

    # -- rows --------------------------------------------------------------------------

    def _rows(self, conn: Connection) -> Generator[tuple[int, bytes, str, bytes], None, None]:
        query = (
            select(entries.c.idx, entries.c.data, entries.c.kind, entries.c.leaf_hash)
            .where(entries.c.log_id == self.log_id)
            .order_by(entries.c.idx)
        )
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        try:
            for idx, data, kind, leaf in result:
                yield int(idx), bytes(data), str(kind), bytes(leaf)
        finally:
            result.close()  # a server-side cursor left open outlives its transaction


def _lenient(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _runs(values: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of sorted integers."""
    start = prev = None
    for v in values:
        if prev is not None and v == prev + 1:
            prev = v
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = v
    if start is not None and prev is not None:
        yield start, prev


class _Spans:
    """Disjoint half-open integer spans, merged on insert; O(findings) memory."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, lo: int, hi: int) -> None:
        i = bisect.bisect_left(self.ends, lo)  # first span that ends at or after lo
        j = bisect.bisect_right(self.starts, hi)  # spans from i to j-1 touch [lo, hi)
        if i < j:
            lo, hi = min(lo, self.starts[i]), max(hi, self.ends[j - 1])
        self.starts[i:j] = [lo]
        self.ends[i:j] = [hi]

    def meets(self, lo: int, hi: int) -> bool:
        """Whether some span intersects ``[lo, hi)``."""
        i = bisect.bisect_right(self.ends, lo)  # first span ending after lo
        return i < len(self.starts) and self.starts[i] < hi
