"""Retention: delete old media, keep every log entry, and say so in the log first.

A run of :func:`purge_expired` finds the segments whose footage ended before the cutoff,
keeps those that belong to a clip that is not itself expired (a clip is kept whole, so a
dispute over a recent order never finds half its footage gone), appends one ``purge``
entry per run of consecutive segment numbers, and only then deletes the files.

The order matters to an auditor: media missing without a ``purge`` entry is tampering.
A crash after logging and before deleting leaves files that the next run deletes (they
are already covered); the reverse order would leave media gone with nothing to say why.
An init section is deleted with the last segment that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from storage._errors import BlobMissingError
from storage._schema import blobs, clips, segments
from storage.db import write_transaction
from storage.entries import Purge
from storage.log import StoredCheckpoint
from storage.note import NoteSigner
from storage.store import Store

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class PurgedRun:
    first_seq: int
    last_seq: int
    files: int  # blob files deleted (or that a dry run would delete)
    bytes: int

    @property
    def segments(self) -> int:
        return self.last_seq - self.first_seq + 1


@dataclass(frozen=True, slots=True)
class PurgeResult:
    cutoff_ms: int
    policy: str
    dry_run: bool
    runs: tuple[PurgedRun, ...]  # one purge entry each, in this order
    kept_for_clips: int  # expired segments kept because a clip that is not expired uses them
    leftovers: int  # files of segments purged by an earlier, interrupted run, deleted now
    inits: int  # init sections deleted with the last segment that needed them
    bytes_freed: int
    checkpoint: StoredCheckpoint | None
    kept_for_hub: int = 0  # expired segments kept because the hub does not hold them yet

    @property
    def segments(self) -> int:
        return sum(r.segments for r in self.runs)

    @property
    def files(self) -> int:
        return sum(r.files for r in self.runs) + self.leftovers + self.inits


def purge_expired(
    store: Store,
    signer: NoteSigner | None = None,
    *,
    older_than_ms: int,
    now_ms: int,
    policy: str | None = None,
    dry_run: bool = False,
    hub_holds: Callable[[str], bool] | None = None,
) -> PurgeResult:
    """Delete the media of segments that ended more than ``older_than_ms`` before ``now_ms``.

    With ``signer`` (the station key) a checkpoint covering the purge entries is signed.
    ``dry_run`` computes the same result and changes nothing. With ``hub_holds`` (a
    station that replicates to a hub), media the hub has not acknowledged are kept: the
    hub's copy, not the policy, is what lets them go.
    """
    if older_than_ms <= 0:
        raise ValueError(f"older_than_ms must be positive, got {older_than_ms}")
    cutoff = now_ms - older_than_ms
    if policy is None:
        days, rest = divmod(older_than_ms, DAY_MS)
        age = f"{older_than_ms} ms" if rest else f"{days} day{'s' if days != 1 else ''}"
        policy = f"retention: media older than {age}"
    protected = _protected(store, cutoff)
    ranges: list[list[int]] = []
    kept = kept_for_hub = 0
    leftover_shas: list[str] = []
    for seq, sha, purged in _expired(store, cutoff):
        if any(lo <= seq <= hi for lo, hi in protected):
            kept += 1
        elif not purged and hub_holds is not None and not hub_holds(sha):
            kept_for_hub += 1
        elif purged:
            if store._blobs.exists(sha):
                leftover_shas.append(sha)
        elif ranges and ranges[-1][1] == seq - 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    entries = [Purge(now_ms, lo, hi, policy) for lo, hi in ranges]
    checkpoint = None
    if entries and not dry_run:
        # Log first: from here on the files may go (see the module docstring).
        store.append(entries)
        if signer is not None:
            checkpoint = store._log.sign_checkpoint(signer, now_ms)
    runs = tuple(_delete_run(store, lo, hi, dry_run) for lo, hi in ranges)
    freed = sum(r.bytes for r in runs)
    for sha in leftover_shas:
        freed += _delete(store, sha, dry_run) or 0
    inits = 0
    for init in _orphaned_inits(store, ranges, now_ms, dry_run, hub_holds):
        freed += _delete(store, init, dry_run) or 0
        inits += 1
    return PurgeResult(
        cutoff,
        policy,
        dry_run,
        runs,
        kept,
        len(leftover_shas),
        inits,
        freed,
        checkpoint,
        kept_for_hub,
    )


def _protected(store: Store, cutoff: int) -> list[tuple[int, int]]:
    """Segment ranges of clips that are not expired but reach back before the cutoff."""
    with store._engine.connect() as conn:
        rows = conn.execute(
            select(clips.c.first_seq, clips.c.last_seq).where(
                clips.c.log_id == store._log.log_id,
                clips.c.start_ms < cutoff,
                clips.c.end_ms >= cutoff,
            )
        ).all()
    return [(int(r.first_seq), int(r.last_seq)) for r in rows]


def _expired(store: Store, cutoff: int) -> Iterator[tuple[int, str, bool]]:
    """(seq, sha256, already purged) of every segment that ended before the cutoff."""
    query = (
        select(segments.c.seq, segments.c.sha256, blobs.c.purged_ms)
        .select_from(segments.outerjoin(blobs, blobs.c.sha256 == segments.c.sha256))
        .where(
            segments.c.log_id == store._log.log_id,
            segments.c.start_ms < cutoff,  # indexed; end_ms < cutoff implies it
            segments.c.end_ms < cutoff,
        )
        .order_by(segments.c.seq)
    )
    with store._engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=4096).execute(query)
        try:
            for seq, sha, purged_ms in result:
                yield int(seq), str(sha), purged_ms is not None
        finally:
            result.close()


def _delete_run(store: Store, lo: int, hi: int, dry_run: bool) -> PurgedRun:
    files = freed = 0
    with store._engine.connect() as conn:
        shas = conn.execute(
            select(segments.c.sha256).where(
                segments.c.log_id == store._log.log_id, segments.c.seq.between(lo, hi)
            )
        ).scalars()
        for sha in shas:
            size = _delete(store, str(sha), dry_run)
            if size is not None:
                files += 1
                freed += size
    return PurgedRun(lo, hi, files, freed)


def _delete(store: Store, sha: str, dry_run: bool) -> int | None:
    """Delete one blob file; its size in bytes, or ``None`` if it was not there."""
    try:
        size = store._blobs.size(sha)
    except BlobMissingError:
        return None
    if not dry_run:
        store._blobs.delete(sha)
    return size


def _orphaned_inits(
    store: Store,
    ranges: list[list[int]],
    now_ms: int,
    dry_run: bool,
    hub_holds: Callable[[str], bool] | None = None,
) -> list[str]:
    """Init sections of the purged segments that no unpurged segment needs any more."""
    if not ranges:
        return []
    log_id = store._log.log_id
    in_run = or_(*(segments.c.seq.between(lo, hi) for lo, hi in ranges))
    out = []
    with store._engine.connect() as conn:
        inits: set[str] = set()
        for lo, hi in ranges:
            inits.update(
                conn.execute(
                    select(segments.c.init)
                    .where(segments.c.log_id == log_id, segments.c.seq.between(lo, hi))
                    .distinct()
                ).scalars()
            )
        for init in sorted(inits):
            live = (
                select(segments.c.seq)
                .select_from(segments.outerjoin(blobs, blobs.c.sha256 == segments.c.sha256))
                .where(
                    segments.c.log_id == log_id,
                    segments.c.init == init,
                    blobs.c.purged_ms.is_(None),
                )
            )
            if dry_run:
                # Nothing was logged: the segments this run would purge still look live.
                live = live.where(~in_run)
            if hub_holds is not None and not hub_holds(init):
                continue
            if conn.execute(live.limit(1)).first() is None and store._blobs.exists(init):
                out.append(init)
    if out and not dry_run:
        with write_transaction(store._engine) as conn:
            conn.execute(
                update(blobs)
                .where(blobs.c.sha256.in_(out), blobs.c.purged_ms.is_(None))
                .values(purged_ms=now_ms)
            )
    return out


__all__ = ["DAY_MS", "PurgeResult", "PurgedRun", "purge_expired"]
