"""Tampering with a stored log behind its back, shared by the log and log-scan tests."""

from __future__ import annotations

from sqlalchemy import insert, update

from storage import Store, merkle
from storage._schema import entries
from storage.entries import Gap
from tests import factories as f


def insert_entry(store: Store, at: int, size: int, gap: Gap | None = None) -> None:
    """Shift entries ``at..size-1`` up by one and put a new gap entry (``gap``, default one
    at ``f.T0``) at ``at``."""
    with store._engine.begin() as conn:
        for idx in range(size - 1, at - 1, -1):
            conn.execute(update(entries).where(entries.c.idx == idx).values(idx=idx + 1))
        data = (gap or Gap(f.T0, f.T0, f.T0 + 1, "restart", None)).to_bytes()
        conn.execute(
            insert(entries).values(
                log_id=store._log.log_id,
                idx=at,
                kind="gap",
                data=data,
                leaf_hash=merkle.leaf_hash(data),
            )
        )
