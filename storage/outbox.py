"""A station's outbox to its hub: what the hub acknowledged, and what to send next.

The station's log stays the evidence; the outbox only remembers how far the hub has it.
``acked_size`` is the mirrored log's size as the hub last said it; blobs are sent after
the entries that name them, in log order, and each acknowledged blob is recorded, so
retention can ask :meth:`Outbox.hub_holds` before deleting local media. All state is in
the station's own database, so a restart resumes where the hub left it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from storage._schema import (
    blobs,
    checkpoint_cosignatures,
    checkpoint_stamps,
    checkpoints,
    hub_acked_blobs,
    outbox,
    segments,
)
from storage.db import write_transaction
from storage.log import StoredCheckpoint
from storage.note import Signature
from storage.push import MAX_ANCHORS, MAX_PUSH_ENTRIES, AnchorPush, Push, PushedStamp
from storage.store import Store


@dataclass(frozen=True, slots=True)
class OutboxState:
    acked_size: int
    acked_ms: int | None
    blobs_done_idx: int  # every blob named by entries before this index is acknowledged
    last_error: str | None
    last_error_ms: int | None


@dataclass(frozen=True, slots=True)
class Backlog:
    entries: int
    blobs: int
    bytes: int
    oldest_ms: int | None  # time of the oldest unacknowledged entry or blob's segment


def backlog_text(b: Backlog) -> str:
    """The X-Packseal-Backlog header a station sends its hub."""
    oldest = "-" if b.oldest_ms is None else str(b.oldest_ms)
    return f"entries={b.entries};blobs={b.blobs};bytes={b.bytes};oldest={oldest}"


@dataclass(frozen=True, slots=True)
class AnchorMark:
    """How far a pusher has sent anchors: checkpoints up to ``size``, stamps and
    cosignatures stored before ``stored_ms`` (in memory: a restart sends them again)."""

    size: int = 0
    stored_ms: int = 0


@dataclass(frozen=True, slots=True)
class PendingBlob:
    sha256: str
    idx: int  # the first entry that names it
    start_ms: int


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store._engine
        self.log_id = store._log.log_id

    def state(self) -> OutboxState:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.log_id == self.log_id)).first()
        if row is None:
            return OutboxState(0, None, 0, None, None)
        return OutboxState(
            int(row.acked_size),
            row.acked_ms,
            int(row.blobs_done_idx),
            row.last_error,
            row.last_error_ms,
        )

    def _set(self, **values: object) -> None:
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(outbox).where(outbox.c.log_id == self.log_id).values(values))
            if done.rowcount == 0:
                row = {"log_id": self.log_id, "acked_size": 0, "blobs_done_idx": 0}
                conn.execute(insert(outbox).values({**row, **values}))

    # -- entries ---------------------------------------------------------------------

    def next_push(self, max_entries: int = MAX_PUSH_ENTRIES) -> Push | None:
        """Entries from the acknowledged size up to a signed checkpoint, or None."""
        old = self.state().acked_size
        target = self._target(old, max_entries)
        if target is None:
            return None
        log = self.store._log
        entries = tuple(data for _, data in log.iter_entries(old, target.size))
        return Push(
            old,
            log.root(old),
            tuple(log.consistency_proof(old, target.size)),
            entries,
            target.note,
        )

    def _target(self, old: int, max_entries: int) -> StoredCheckpoint | None:
        """The largest checkpoint within ``max_entries`` of ``old``, else the next one."""
        with self.engine.connect() as conn:
            base = select(checkpoints.c.size).where(
                checkpoints.c.log_id == self.log_id, checkpoints.c.size > old
            )
            size = conn.execute(
                base.where(checkpoints.c.size <= old + max_entries)
                .order_by(checkpoints.c.size.desc())
                .limit(1)
            ).scalar_one_or_none()
            if size is None:
                size = conn.execute(base.order_by(checkpoints.c.size).limit(1)).scalar_one_or_none()
        return None if size is None else self.store.checkpoint_at(int(size))

    def acked(self, size: int, at_ms: int) -> None:
        """The hub holds ``size`` entries (also after a hub restore to fewer: resend)."""
        self._set(acked_size=size, acked_ms=at_ms, last_error=None, last_error_ms=None)

    def failed(self, message: str, at_ms: int) -> None:
        self._set(last_error=message[:2000], last_error_ms=at_ms)

    # -- anchors ---------------------------------------------------------------------

    def next_anchors(
        self, mark: AnchorMark, policy: dict[str, Any], limit: int = MAX_ANCHORS
    ) -> tuple[AnchorPush, AnchorMark] | None:
        """Checkpoints, stamps and cosignatures the hub may lack (past ``mark``), for
        sizes it acknowledged; None when there is nothing new. The new mark never passes
        an anchor held back (its checkpoint not acknowledged yet), so none is skipped;
        sending one twice is harmless (the hub keeps each once)."""
        acked = self.state().acked_size
        with self.engine.connect() as conn:
            cps = conn.execute(
                select(checkpoints.c.size, checkpoints.c.note)
                .where(
                    checkpoints.c.log_id == self.log_id,
                    checkpoints.c.size > mark.size,
                    checkpoints.c.size <= acked,
                )
                .order_by(checkpoints.c.size)
                .limit(limit)
            ).all()
            stamps, cosigs = (
                conn.execute(
                    select(table)
                    .where(table.c.log_id == self.log_id, table.c.stored_ms >= mark.stored_ms)
                    .order_by(table.c.stored_ms)
                    .limit(limit)
                ).all()
                for table in (checkpoint_stamps, checkpoint_cosignatures)
            )
        ready = [r for r in (*stamps, *cosigs) if int(r.size) <= acked]
        held = [int(r.stored_ms) for r in (*stamps, *cosigs) if int(r.size) > acked]
        full = len(stamps) == limit or len(cosigs) == limit
        if not cps and not ready:
            return None
        seen = [int(r.stored_ms) for r in ready]
        # Next time from the first anchor held back, else past what was sent (a full
        # page resends its last millisecond: the hub keeps each anchor once).
        stored_ms = min(held) if held else max(seen, default=mark.stored_ms) + (0 if full else 1)
        push = AnchorPush(
            tuple(bytes(r.note) for r in cps),
            tuple(
                PushedStamp(int(r.size), r.tsa, bytes(r.request), bytes(r.response), int(r.gen_ms))
                for r in stamps
                if int(r.size) <= acked
            ),
            tuple(
                (int(r.size), Signature(r.witness, int(r.key_id), bytes(r.signature)).line())
                for r in cosigs
                if int(r.size) <= acked
            ),
            policy,
        )
        size = int(cps[-1].size) if len(cps) == limit else max(acked, mark.size)
        return push, AnchorMark(size, max(stored_ms, mark.stored_ms))

    # -- blobs -----------------------------------------------------------------------

    def pending_blobs(self, limit: int = 64) -> list[PendingBlob]:
        """Blobs named by acknowledged entries that the hub has not acknowledged yet.

        In log order; blobs whose local copy is gone (purged before a hub was configured)
        are skipped: the log's purge entries tell the hub why.
        """
        state = self.state()
        out: list[PendingBlob] = []
        seen: set[str] = set()
        for seq_idx, start_ms, sha, init in self._named(state.blobs_done_idx, state.acked_size):
            for name in (init, sha):
                if name in seen:
                    continue
                seen.add(name)
                if self.hub_holds(name) or not self.store.blob_exists(name):
                    continue
                out.append(PendingBlob(name, seq_idx, start_ms))
                if len(out) >= limit:
                    return out
        return out

    def _named(self, lo: int, hi: int) -> Iterator[tuple[int, int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(segments.c.idx, segments.c.start_ms, segments.c.sha256, segments.c.init)
                .where(segments.c.log_id == self.log_id, segments.c.idx >= lo, segments.c.idx < hi)
                .order_by(segments.c.idx)
            ).all()
        for r in rows:
            yield int(r.idx), int(r.start_ms), r.sha256, r.init

    def blob_acked(self, sha256: str, at_ms: int) -> None:
        self.blobs_acked([sha256], at_ms)

    def blobs_acked(self, names: list[str], at_ms: int) -> None:
        """Record acknowledgments in one transaction (one fsync for a batch of uploads)."""
        if not names:
            return
        with write_transaction(self.engine) as conn:
            known = set(
                conn.execute(
                    select(hub_acked_blobs.c.sha256).where(hub_acked_blobs.c.sha256.in_(names))
                ).scalars()
            )
            new = sorted(set(names) - known)
            if new:
                conn.execute(
                    insert(hub_acked_blobs), [{"sha256": n, "acked_ms": at_ms} for n in new]
                )

    def advance(self) -> int:
        """Move ``blobs_done_idx`` past every segment whose blobs the hub holds."""
        state = self.state()
        done = state.blobs_done_idx
        for idx, _, sha, init in self._named(state.blobs_done_idx, state.acked_size):
            if not all(self.hub_holds(n) or not self.store.blob_exists(n) for n in (sha, init)):
                break
            done = idx + 1
        else:
            done = state.acked_size
        if done != state.blobs_done_idx:
            self._set(blobs_done_idx=done)
        return done

    def hub_holds(self, sha256: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(hub_acked_blobs.c.sha256).where(hub_acked_blobs.c.sha256 == sha256)
                ).first()
                is not None
            )

    def backlog(self) -> Backlog:
        state = self.state()
        size = self.store.size()
        unsent = (
            select(segments.c.bytes, segments.c.start_ms)
            .select_from(segments.join(blobs, blobs.c.sha256 == segments.c.sha256))
            .where(
                segments.c.log_id == self.log_id,
                # before blobs_done_idx everything is acknowledged: O(backlog), not O(log)
                segments.c.idx >= state.blobs_done_idx,
                blobs.c.purged_ms.is_(None),
                segments.c.sha256.not_in(select(hub_acked_blobs.c.sha256)),
            )
            .subquery()
        )
        with self.engine.connect() as conn:
            count, total, oldest = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(unsent.c.bytes), 0),
                    func.min(unsent.c.start_ms),
                )
            ).one()
        return Backlog(size - state.acked_size, int(count), int(total), oldest)


__all__ = ["AnchorMark", "Backlog", "Outbox", "OutboxState", "PendingBlob", "backlog_text"]
