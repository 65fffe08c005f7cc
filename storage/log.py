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

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from storage import merkle
from storage._errors import LogIntegrityError, LogStateError
from storage._logscan import LogScan
from storage._logtypes import (
    SCAN_CHECKS,
    Appended,
    LogReport,
    OnAppend,
    OnCheckpoint,
    OnEntry,
    OnProblem,
    Progress,
    StoredCheckpoint,
    stored_checkpoint,
)
from storage._nodes import NodeReader
from storage._schema import checkpoints, entries, logs, nodes
from storage.checkpoint import Checkpoint, TlogProof, sign_checkpoint
from storage.db import write_transaction
from storage.entries import GENESIS, Entry
from storage.note import NoteSigner, NoteVerifier


class Log:
    def __init__(self, engine: Engine, log_id: int, origin: str) -> None:
        self.engine = engine
        self.log_id = log_id
        self.origin = origin
        self.nodes = NodeReader(log_id, origin)

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
            self._keep_checkpoint(conn, size, root, raw, at_ms)
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
        return None if row is None else stored_checkpoint(row)

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
        return [stored_checkpoint(r) for r in rows]

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
        return self.scan(verifiers, progress=progress)

    def scan(
        self,
        verifiers: Sequence[NoteVerifier],
        *,
        on_entry: OnEntry | None = None,
        on_checkpoint: OnCheckpoint | None = None,
        on_problem: OnProblem | None = None,
        roots_at: Collection[int] = (),
        progress: Progress | None = None,
    ) -> LogReport:
        """:meth:`verify`, streaming what it checked to callbacks (for a whole-store audit).

        ``on_entry(index, data, obj)`` gets every entry that is a JSON object, in order
        (one that is not canonical is reported first);
        ``on_checkpoint(stored, signed, root)`` every stored checkpoint, with the opened
        note (``None`` if its signature or row is bad) and the root recomputed from the
        entries at its size (``None`` if entries are missing). With ``on_problem``, a
        failed check is reported as ``on_problem(check, error)`` and the scan goes on
        (``check`` is one of :data:`SCAN_CHECKS`); without it, the first one raises.
        ``roots_at`` names sizes whose recomputed root the report should carry.

        The scan reads one snapshot of the database, so a station appending meanwhile
        does not look like tampering.
        """
        callbacks = (on_entry, on_checkpoint, on_problem)
        return LogScan(self.engine, self.nodes, verifiers, *callbacks, roots_at, progress).run()

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

    def _proof(self, conn: Connection, ranges: Sequence[merkle.Range]) -> list[bytes]:
        wanted = merkle.nodes_for(ranges)
        known = self.nodes.lookup(conn, wanted)
        missing = wanted - known.keys()
        if missing:
            raise LogIntegrityError(f"stored subtree hashes are missing: {sorted(missing)[:4]}")
        return merkle.hashes_for(ranges, known)

    def _root(self, conn: Connection, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._proof(conn, [(0, size)])[0]

    def _frontier(self, conn: Connection, size: int) -> merkle.Frontier:
        return self.nodes.frontier(conn, size)

    def _keep_checkpoint(
        self, conn: Connection, size: int, root: bytes, note: bytes, at_ms: int
    ) -> bool:
        """Store a signed checkpoint of `size` unless one is held; True when it was new.

        Callers have checked `note` signs `root` at `size` and that `root` is this log's.
        """
        if self._checkpoint_row(conn, size) is not None:
            return False
        conn.execute(
            insert(checkpoints).values(
                log_id=self.log_id, size=size, root_hash=root, note=note, signed_ms=at_ms
            )
        )
        return True

    def _checkpoint_row(self, conn: Connection, size: int) -> StoredCheckpoint | None:
        row = conn.execute(
            select(checkpoints).where(
                checkpoints.c.log_id == self.log_id, checkpoints.c.size == size
            )
        ).first()
        return None if row is None else stored_checkpoint(row)


__all__ = [
    "SCAN_CHECKS",
    "Appended",
    "Log",
    "LogReport",
    "OnAppend",
    "OnCheckpoint",
    "OnEntry",
    "OnProblem",
    "Progress",
    "StoredCheckpoint",
]
