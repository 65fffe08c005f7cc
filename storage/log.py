"""The append-only, hash-chained Merkle log of one origin, kept in a SQL database.

Each entry is a leaf; each carries ``prev``, the leaf hash of the entry before it. Next
to the entries the log keeps the hash of every perfect subtree (``nodes``), so a root,
an inclusion proof or a consistency proof costs O(log^2 n) indexed lookups and never
loads the leaves. Checkpoints are signed notes of (origin, size, root) and are stored;
the log never signs two different roots for one size.

Writers hold the database write lock for the whole append (see :mod:`storage.db`), so
a batch is appended entirely or not at all, and a crash leaves a prefix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from storage import canonical, merkle
from storage._errors import FormatError, LogIntegrityError, LogStateError, VerificationError
from storage._schema import checkpoints, entries, logs, nodes
from storage.checkpoint import Checkpoint, TlogProof, open_checkpoint, sign_checkpoint
from storage.db import write_transaction
from storage.entries import GENESIS, Entry
from storage.note import NoteSigner, NoteVerifier

# Called inside the append transaction for each new entry: (conn, index, entry, data).
OnAppend = Callable[[Connection, int, Entry, bytes], None]
Progress = Callable[[int, int], None]

_VERIFY_CHUNK = 4096
_NODE_LOOKUP_BATCH = 400


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes
    entry: Entry
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: bytes
    signed_ms: int


@dataclass(frozen=True, slots=True)
class LogReport:
    size: int
    checkpoints: int
    kinds: dict[str, int]


class Log:
    def __init__(self, engine: Engine, log_id: int, origin: str) -> None:
        self.engine = engine
        self.log_id = log_id
        self.origin = origin

    @classmethod
    def open(cls, engine: Engine, origin: str, *, create: bool = False) -> Log:
        with engine.connect() as conn:
            row = conn.execute(select(logs.c.id).where(logs.c.origin == origin)).first()
        if row is not None:
            return cls(engine, row.id, origin)
        if not create:
            raise LogStateError(
                f"no log with origin {origin!r} in {engine.url!r}",
                hint="run `packseal init` first, or check merchant.origin in config.yaml",
            )
        with write_transaction(engine) as conn:
            log_id = conn.execute(
                insert(logs).values(origin=origin, size=0, head=bytes.fromhex(GENESIS))
            ).inserted_primary_key
            assert log_id is not None
        return cls(engine, int(log_id[0]), origin)

    # -- writing ---------------------------------------------------------------------

    def append(
        self, batch: Sequence[Entry], *, on_append: OnAppend | None = None
    ) -> list[Appended]:
        """Append entries (their ``prev`` is set here) in one transaction."""
        if not batch:
            return []
        with write_transaction(self.engine) as conn:
            return self.append_in(conn, batch, on_append=on_append)

    def append_in(
        self, conn: Connection, batch: Sequence[Entry], *, on_append: OnAppend | None = None
    ) -> list[Appended]:
        """Append inside a caller's write transaction (see :func:`storage.db.write_transaction`)."""
        state = conn.execute(
            select(logs.c.size, logs.c.head).where(logs.c.id == self.log_id).with_for_update()
        ).one()
        size, head = int(state.size), bytes(state.head)
        frontier = self._frontier(conn, size)
        out: list[Appended] = []
        entry_rows: list[dict[str, Any]] = []
        node_rows: list[dict[str, Any]] = []
        for entry in batch:
            entry = entry.with_prev(head.hex())
            data = entry.to_bytes()
            leaf = merkle.leaf_hash(data)
            index = frontier.size
            for (level, idx), h in frontier.append(leaf):
                node_rows.append({"log_id": self.log_id, "level": level, "idx": idx, "hash": h})
            entry_rows.append(
                {
                    "log_id": self.log_id,
                    "idx": index,
                    "kind": entry.KIND,
                    "leaf_hash": leaf,
                    "data": data,
                }
            )
            out.append(Appended(index, leaf, entry, data))
            head = leaf
        conn.execute(insert(entries), entry_rows)
        conn.execute(insert(nodes), node_rows)
        conn.execute(
            update(logs).where(logs.c.id == self.log_id).values(size=frontier.size, head=head)
        )
        if on_append is not None:
            for a in out:
                on_append(conn, a.index, a.entry, a.data)
        return out

    def sign_checkpoint(self, signer: NoteSigner, at_ms: int) -> StoredCheckpoint:
        """Sign and store a checkpoint of the current size (or return the stored one)."""
        if signer.name != self.origin:
            raise ValueError(f"the log {self.origin!r} cannot be signed by key {signer.name!r}")
        with write_transaction(self.engine) as conn:
            size = int(
                conn.execute(select(logs.c.size).where(logs.c.id == self.log_id)).scalar_one()
            )
            existing = self._checkpoint_row(conn, size)
            if existing is not None:
                return existing
            root = self._root(conn, size)
            raw = sign_checkpoint(Checkpoint(self.origin, size, root), signer)
            conn.execute(
                insert(checkpoints).values(
                    log_id=self.log_id, size=size, root_hash=root, note=raw, signed_ms=at_ms
                )
            )
            return StoredCheckpoint(size, root, raw, at_ms)

    # -- reading ---------------------------------------------------------------------

    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(logs.c.size).where(logs.c.id == self.log_id)).scalar_one()
            )

    def entry(self, index: int) -> bytes:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(entries.c.data).where(
                    entries.c.log_id == self.log_id, entries.c.idx == index
                )
            ).scalar_one_or_none()
        if data is None:
            raise LogStateError(f"log {self.origin} has no entry {index} (size {self.size()})")
        return bytes(data)

    def iter_entries(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Stream ``(index, data)`` in index order without loading the log into memory."""
        query = select(entries.c.idx, entries.c.data).where(
            entries.c.log_id == self.log_id, entries.c.idx >= start
        )
        if stop is not None:
            query = query.where(entries.c.idx < stop)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                query.order_by(entries.c.idx)
            )
            try:
                for row in result:
                    yield int(row.idx), bytes(row.data)
            finally:
                result.close()  # a server-side cursor left open outlives its connection

    def root(self, size: int | None = None) -> bytes:
        with self.engine.connect() as conn:
            return self._root(conn, self._size_or_current(conn, size))

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(checkpoints)
                .where(checkpoints.c.log_id == self.log_id)
                .order_by(checkpoints.c.size.desc())
                .limit(1)
            ).first()
        return None if row is None else _stored(row)

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            return self._checkpoint_row(conn, size)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoints)
                .where(checkpoints.c.log_id == self.log_id)
                .order_by(checkpoints.c.size)
            ).all()
        return [_stored(r) for r in rows]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        with self.engine.connect() as conn:
            size = self._size_or_current(conn, size)
            if not 0 <= index < size:
                raise LogStateError(f"entry {index} is not in the log at size {size}")
            return self._proof(conn, merkle.inclusion_ranges(index, size))

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        with self.engine.connect() as conn:
            new = self._size_or_current(conn, new)
            if not 0 <= old <= new:
                raise LogStateError(f"no consistency proof from size {old} to size {new}")
            return self._proof(conn, merkle.consistency_ranges(old, new))

    def tlog_proof(self, index: int, size: int | None = None) -> TlogProof:
        """A C2SP tlog-proof for entry ``index`` against the stored checkpoint of ``size``.

        Without ``size``, the latest checkpoint is used; it must already cover the entry.
        """
        cp = self.latest_checkpoint() if size is None else self.checkpoint_at(size)
        if cp is None or cp.size <= index:
            covered = "no checkpoint" if cp is None else f"the checkpoint covers {cp.size} entries"
            raise LogStateError(
                f"entry {index} is not covered by a signed checkpoint ({covered})",
                hint="sign a new checkpoint (the station does this when it seals a clip)",
            )
        return TlogProof(index, tuple(self.inclusion_proof(index, cp.size)), cp.note)

    # -- verification ----------------------------------------------------------------

    def verify(
        self, verifiers: Sequence[NoteVerifier], *, progress: Progress | None = None
    ) -> LogReport:
        """Check the whole log in one streaming pass; raise :class:`LogIntegrityError`.

        Recomputes every leaf hash, the ``prev`` chain, every stored subtree hash, the
        root of every stored checkpoint and its signature. Memory stays O(log n + chunk).
        """
        cps = self.checkpoints()
        with self.engine.connect() as conn:
            state = conn.execute(
                select(logs.c.size, logs.c.head).where(logs.c.id == self.log_id)
            ).one()
        size, head = int(state.size), bytes(state.head)
        pending_cps = iter(cps)
        next_cp = next(pending_cps, None)
        while next_cp is not None and next_cp.size == 0:
            self._check_checkpoint(next_cp, merkle.EMPTY_ROOT, verifiers)
            next_cp = next(pending_cps, None)
        frontier = merkle.Frontier()
        prev = bytes.fromhex(GENESIS)
        kinds: dict[str, int] = {}
        computed: dict[tuple[int, int], bytes] = {}
        expected = 0
        with contextlib.closing(self._stream_rows()) as rows:
            for index, data, kind, stored_leaf in rows:
                if index != expected:
                    what = "missing" if index > expected else "duplicated"
                    raise LogIntegrityError(
                        f"log {self.origin}: entry {expected} is {what} "
                        f"(next stored index is {index})",
                        index=expected,
                    )
                leaf = merkle.leaf_hash(data)
                if leaf != stored_leaf:
                    raise LogIntegrityError(
                        f"entry {index}: stored leaf hash {stored_leaf.hex()[:16]}… does not match "
                        f"its bytes ({leaf.hex()[:16]}…): the entry was edited",
                        index=index,
                    )
                try:
                    obj = canonical.loads(data)
                except FormatError as e:
                    raise LogIntegrityError(
                        f"entry {index} is not canonical JSON: {e}", index=index
                    ) from e
                if not isinstance(obj, dict) or obj.get("kind") != kind:
                    raise LogIntegrityError(
                        f"entry {index}: kind column does not match its bytes", index=index
                    )
                for node, h in frontier.append(leaf):
                    computed[node] = h
                if obj.get("prev") != prev.hex():
                    # The tree recorded each leaf when it was appended: check those first,
                    # they name the edited entry rather than its successor.
                    self._check_nodes(computed)
                    raise LogIntegrityError(
                        f"entry {index}: prev is {str(obj.get('prev'))[:16]}…, expected the leaf "
                        f"hash of entry {index - 1} ({prev.hex()[:16]}…): entries were removed, "
                        "reordered or inserted",
                        index=index,
                    )
                kinds[kind] = kinds.get(kind, 0) + 1
                prev = leaf
                expected += 1
                while next_cp is not None and next_cp.size == expected:
                    self._check_checkpoint(next_cp, frontier.root(), verifiers)
                    next_cp = next(pending_cps, None)
                if len(computed) >= 2 * _VERIFY_CHUNK:
                    self._check_nodes(computed)
                    computed.clear()
                if progress is not None and expected % _VERIFY_CHUNK == 0:
                    progress(expected, size)
        self._check_nodes(computed)
        if expected != size or prev != head:
            raise LogIntegrityError(
                f"log {self.origin}: the log head says size {size}, but {expected} entries are "
                "stored (entries were deleted or appended outside the log)",
                index=min(expected, size),
            )
        if next_cp is not None:
            raise LogIntegrityError(
                f"checkpoint for size {next_cp.size} is beyond the log's {expected} entries "
                "(entries were deleted)",
                index=expected,
            )
        if progress is not None:
            progress(expected, size)
        return LogReport(expected, len(cps), kinds)

    def _stream_rows(self) -> Generator[tuple[int, bytes, str, bytes], None, None]:
        query = (
            select(entries.c.idx, entries.c.data, entries.c.kind, entries.c.leaf_hash)
            .where(entries.c.log_id == self.log_id)
            .order_by(entries.c.idx)
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=_VERIFY_CHUNK).execute(
                query
            )
            try:
                for row in result:
                    yield int(row.idx), bytes(row.data), str(row.kind), bytes(row.leaf_hash)
            finally:
                result.close()

    def _check_checkpoint(
        self, cp: StoredCheckpoint, root: bytes, verifiers: Sequence[NoteVerifier]
    ) -> None:
        where = f"checkpoint at size {cp.size}"
        try:
            signed = open_checkpoint(cp.note, verifiers)
        except (VerificationError, FormatError) as e:
            raise LogIntegrityError(f"{where}: {e}", index=cp.size) from e
        body = signed.checkpoint
        if body.origin != self.origin or body.size != cp.size or body.root_hash != cp.root_hash:
            raise LogIntegrityError(
                f"{where}: the signed note does not match its row", index=cp.size
            )
        if root != body.root_hash:
            raise LogIntegrityError(
                f"{where}: signed root {body.root_hash.hex()[:16]}… does not match the root of "
                f"the stored entries {root.hex()[:16]}…",
                index=cp.size,
            )

    def _check_nodes(self, computed: dict[tuple[int, int], bytes]) -> None:
        if not computed:
            return
        with self.engine.connect() as conn:
            stored = self._lookup(conn, computed.keys())
        for node, h in computed.items():
            if stored.get(node) != h:
                level, idx = node
                if level == 0:
                    raise LogIntegrityError(
                        f"entry {idx} does not match the leaf hash the tree recorded when it was "
                        "appended: the entry was edited, replaced or moved",
                        index=idx,
                    )
                first = idx << level
                raise LogIntegrityError(
                    f"stored subtree hash (level {level}, index {idx}) for entries "
                    f"{first}..{first + (1 << level) - 1} does not match the entries",
                    index=first,
                )

    # -- internals -------------------------------------------------------------------

    def _size_or_current(self, conn: Connection, size: int | None) -> int:
        current = int(
            conn.execute(select(logs.c.size).where(logs.c.id == self.log_id)).scalar_one()
        )
        if size is None:
            return current
        if not 0 <= size <= current:
            raise LogStateError(
                f"log {self.origin} has {current} entries; size {size} is not a past size"
            )
        return size

    def _lookup(self, conn: Connection, wanted: Any) -> dict[tuple[int, int], bytes]:
        keys = list(wanted)
        out: dict[tuple[int, int], bytes] = {}
        for i in range(0, len(keys), _NODE_LOOKUP_BATCH):
            chunk = keys[i : i + _NODE_LOOKUP_BATCH]
            levels = {lvl for lvl, _ in chunk}
            # Per level, one range scan over the primary key: cheap on SQLite and PostgreSQL.
            clauses = []
            for lvl in levels:
                idxs = [idx for lv, idx in chunk if lv == lvl]
                clauses.append(and_(nodes.c.level == lvl, nodes.c.idx.in_(idxs)))
            rows = conn.execute(
                select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(
                    nodes.c.log_id == self.log_id, or_(*clauses)
                )
            )
            for row in rows:
                out[(int(row.level), int(row.idx))] = bytes(row.hash)
        return out

    def _proof(self, conn: Connection, ranges: Sequence[merkle.Range]) -> list[bytes]:
        wanted = merkle.nodes_for(ranges)
        known = self._lookup(conn, wanted)
        missing = wanted - known.keys()
        if missing:
            raise LogIntegrityError(f"stored subtree hashes are missing: {sorted(missing)[:4]}")
        return merkle.hashes_for(ranges, known)

    def _root(self, conn: Connection, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._proof(conn, [(0, size)])[0]

    def _frontier(self, conn: Connection, size: int) -> merkle.Frontier:
        if size == 0:
            return merkle.Frontier()
        wanted = merkle.perfect_nodes(0, size)
        known = self._lookup(conn, wanted)
        if len(known) != len(wanted):
            raise LogIntegrityError(
                f"log {self.origin}: subtree hashes for size {size} are missing"
            )
        return merkle.Frontier.from_nodes(size, [known[n] for n in wanted])

    def _checkpoint_row(self, conn: Connection, size: int) -> StoredCheckpoint | None:
        row = conn.execute(
            select(checkpoints).where(
                checkpoints.c.log_id == self.log_id, checkpoints.c.size == size
            )
        ).first()
        return None if row is None else _stored(row)


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        int(row.size), bytes(row.root_hash), bytes(row.note), int(row.signed_ms)
    )


__all__ = ["Appended", "Log", "LogReport", "StoredCheckpoint"]
