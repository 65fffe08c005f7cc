"""What anchors a log's checkpoints outside the merchant: RFC 3161 time-stamps and witness
cosignatures, kept with the checkpoint they are about.

Both are optional extras on a stored checkpoint and never change it: the signed note in
``checkpoints`` stays what the log key signed; a cosigned copy is that note plus the
witnesses' lines (:meth:`Anchors.cosigned_note`).

Pending work is not a separate queue: a TSA or witness is owed the *latest* checkpoint
until it has answered for it. An offline station that signed fifty checkpoints gets the
newest one stamped when the network returns; stamping the older ones then would give
each the same genTime, a bound no tighter than the newest's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select

from storage._schema import checkpoint_cosignatures, checkpoint_stamps, checkpoints
from storage.cosignature import with_cosignatures
from storage.db import write_transaction
from storage.log import Log, StoredCheckpoint
from storage.note import Signature


@dataclass(frozen=True, slots=True)
class StoredStamp:
    size: int
    tsa: str  # the URL it was asked at
    request: bytes
    response: bytes
    gen_ms: int


class Anchors:
    """Time-stamps and cosignatures of one log's checkpoints."""

    def __init__(self, engine: Engine, log: Log) -> None:
        self.engine = engine
        self.log = log

    # -- writing ---------------------------------------------------------------------

    def add_stamp(
        self, size: int, tsa: str, request: bytes, response: bytes, gen_ms: int, now_ms: int
    ) -> None:
        with write_transaction(self.engine) as conn:
            known = conn.execute(
                select(checkpoint_stamps.c.size).where(
                    checkpoint_stamps.c.log_id == self.log.log_id,
                    checkpoint_stamps.c.size == size,
                    checkpoint_stamps.c.tsa == tsa,
                )
            ).first()
            if known is None:
                conn.execute(
                    insert(checkpoint_stamps).values(
                        log_id=self.log.log_id,
                        size=size,
                        tsa=tsa,
                        request=request,
                        response=response,
                        gen_ms=gen_ms,
                        stored_ms=now_ms,
                    )
                )

    def add_cosignatures(self, size: int, sigs: Iterable[Signature], now_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            have = {
                (r.witness, int(r.key_id))
                for r in conn.execute(
                    select(
                        checkpoint_cosignatures.c.witness, checkpoint_cosignatures.c.key_id
                    ).where(
                        checkpoint_cosignatures.c.log_id == self.log.log_id,
                        checkpoint_cosignatures.c.size == size,
                    )
                )
            }
            rows = []
            for sig in sigs:
                if (sig.name, sig.key_id) in have:
                    continue
                have.add((sig.name, sig.key_id))
                rows.append(
                    {
                        "log_id": self.log.log_id,
                        "size": size,
                        "witness": sig.name,
                        "key_id": sig.key_id,
                        "signature": sig.signature,
                        "stored_ms": now_ms,
                    }
                )
            if rows:
                conn.execute(insert(checkpoint_cosignatures), rows)

    def drop_cosignature(self, size: int, witness: str, key_id: int) -> None:
        """Forget one witness's cosignature of the checkpoint at ``size`` (one that no
        longer verifies over it, so that it can be signed again)."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                delete(checkpoint_cosignatures).where(
                    checkpoint_cosignatures.c.log_id == self.log.log_id,
                    checkpoint_cosignatures.c.size == size,
                    checkpoint_cosignatures.c.witness == witness,
                    checkpoint_cosignatures.c.key_id == key_id,
                )
            )

    # -- reading ---------------------------------------------------------------------

    def stamps(self, size: int) -> list[StoredStamp]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoint_stamps)
                .where(
                    checkpoint_stamps.c.log_id == self.log.log_id,
                    checkpoint_stamps.c.size == size,
                )
                .order_by(checkpoint_stamps.c.gen_ms)
            ).all()
        return [
            StoredStamp(int(r.size), r.tsa, bytes(r.request), bytes(r.response), int(r.gen_ms))
            for r in rows
        ]

    def cosignatures(self, size: int) -> list[Signature]:
        rows = self._cosignature_rows(
            checkpoint_cosignatures.c.size == size,
            order=(checkpoint_cosignatures.c.witness, checkpoint_cosignatures.c.key_id),
        )
        return [Signature(r.witness, int(r.key_id), bytes(r.signature)) for r in rows]

    def cosignatures_by(self, witness: str, key_id: int) -> list[tuple[int, Signature]]:
        """Every stored cosignature by one witness key, as (size, signature)."""
        rows = self._cosignature_rows(
            checkpoint_cosignatures.c.witness == witness,
            checkpoint_cosignatures.c.key_id == key_id,
            order=(checkpoint_cosignatures.c.size,),
        )
        return [
            (int(r.size), Signature(r.witness, int(r.key_id), bytes(r.signature))) for r in rows
        ]

    def _cosignature_rows(self, *where: Any, order: tuple[Any, ...]) -> Sequence[Row[Any]]:
        with self.engine.connect() as conn:
            return conn.execute(
                select(checkpoint_cosignatures)
                .where(checkpoint_cosignatures.c.log_id == self.log.log_id, *where)
                .order_by(*order)
            ).all()

    def cosigned_note(self, cp: StoredCheckpoint) -> bytes:
        """The checkpoint's signed note with every stored cosignature line appended."""
        sigs = self.cosignatures(cp.size)
        return with_cosignatures(cp.note, sigs) if sigs else cp.note

    def owed_stamp(self, tsa: str) -> StoredCheckpoint | None:
        """The latest checkpoint, if ``tsa`` has not stamped it yet."""
        cp = self.log.latest_checkpoint()
        if cp is None or any(s.tsa == tsa for s in self.stamps(cp.size)):
            return None
        return cp

    def owed_cosignature(self, witness: str) -> StoredCheckpoint | None:
        """The latest checkpoint, if witness ``witness`` (its key name) has not cosigned it."""
        cp = self.log.latest_checkpoint()
        if cp is None or any(s.name == witness for s in self.cosignatures(cp.size)):
            return None
        return cp

    def last_cosigned_size(self, witness: str) -> int:
        """The largest size ``witness`` cosigned for this log (0: never), its old size."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(checkpoint_cosignatures.c.size)).where(
                    checkpoint_cosignatures.c.log_id == self.log.log_id,
                    checkpoint_cosignatures.c.witness == witness,
                )
            ).scalar_one_or_none()
        return int(value or 0)

    def best_checkpoint(
        self, index: int, *, witnesses: Sequence[str] = (), quorum: int = 0, stamped: bool = False
    ) -> StoredCheckpoint | None:
        """The smallest stored checkpoint covering entry ``index`` that has ``quorum``
        cosignatures from ``witnesses`` and (if ``stamped``) a time-stamp: the tightest
        time bound for the entry. None if no checkpoint qualifies yet."""
        log_id = self.log.log_id
        query = select(checkpoints.c.size).where(
            checkpoints.c.log_id == log_id, checkpoints.c.size > index
        )
        if quorum > 0:
            cosigned = (
                select(checkpoint_cosignatures.c.size)
                .where(
                    checkpoint_cosignatures.c.log_id == log_id,
                    checkpoint_cosignatures.c.witness.in_(list(witnesses)),
                )
                .group_by(checkpoint_cosignatures.c.size)
                .having(func.count(func.distinct(checkpoint_cosignatures.c.witness)) >= quorum)
            )
            query = query.where(checkpoints.c.size.in_(cosigned))
        if stamped:
            query = query.where(
                checkpoints.c.size.in_(
                    select(checkpoint_stamps.c.size).where(checkpoint_stamps.c.log_id == log_id)
                )
            )
        with self.engine.connect() as conn:
            size = conn.execute(query.order_by(checkpoints.c.size).limit(1)).scalar_one_or_none()
        return None if size is None else self.log.checkpoint_at(int(size))


__all__ = ["Anchors", "StoredStamp", "checkpoint_cosignatures", "checkpoint_stamps"]
