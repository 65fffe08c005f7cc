"""A log's key history: which station keys the merchant root certified, and retired.

Station-key and key-revocation entries are few (one per key and rotation), so they are
read by kind, not by scanning the log. The trust file's ``logs`` are derived from them:
a rotated or revoked key stays listed, with the index after which it signs nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from storage._schema import entries
from storage.entries import KeyRevocation, StationKey, parse_as
from storage.store import Store
from storage.trust import TrustedLog

KEY_KINDS = (StationKey.KIND, KeyRevocation.KIND)


def key_entries(store: Store) -> list[tuple[int, StationKey | KeyRevocation]]:
    """Every station-key and key-revocation entry of the store's log, in log order."""
    with store._engine.connect() as conn:
        rows = conn.execute(
            select(entries.c.idx, entries.c.kind, entries.c.data)
            .where(entries.c.log_id == store._log.log_id, entries.c.kind.in_(KEY_KINDS))
            .order_by(entries.c.idx)
        ).all()
    out: list[tuple[int, StationKey | KeyRevocation]] = []
    for row in rows:
        data = bytes(row.data)
        entry: StationKey | KeyRevocation = (
            parse_as(StationKey, data)
            if row.kind == StationKey.KIND
            else parse_as(KeyRevocation, data)
        )
        out.append((int(row.idx), entry))
    return out


def trusted_logs(store: Store) -> tuple[TrustedLog, ...]:
    """The trust file's ``logs`` for this store: every certified key, revocations applied."""
    history = key_entries(store)
    revoked = {e.vkey: e for _, e in history if isinstance(e, KeyRevocation)}
    logs: list[TrustedLog] = []
    for _, entry in history:
        if not isinstance(entry, StationKey) or entry.origin != store._log.origin:
            continue
        if any(g.vkey == entry.vkey for g in logs):
            continue
        r = revoked.get(entry.vkey)
        logs.append(
            TrustedLog(
                entry.origin,
                entry.vkey,
                entry.station,
                None if r is None else r.after,
                None if r is None else r.reason,
            )
        )
    return tuple(logs)


__all__ = ["KEY_KINDS", "key_entries", "trusted_logs"]
