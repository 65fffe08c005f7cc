"""The evidence store of one station: its log, its blobs, and indexes over both.

Index rows (``segments``, ``clips``, ``clip_tracking``) are written in the transaction
that appends the entry they describe, so the index never lists a clip the log lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from storage._errors import LogStateError
from storage._schema import blobs, clip_tracking, clips, segments
from storage.blobs import BlobInfo, BlobStore
from storage.db import connect, migrate, write_transaction
from storage.entries import Clip, Entry, Purge, Segment
from storage.log import Appended, Log


@dataclass(frozen=True, slots=True)
class ClipRow:
    clip_id: str
    order_id: str
    status: str
    end_reason: str
    station: str
    operator: str
    started_ms: int
    ended_ms: int
    start_ms: int
    end_ms: int
    first_seq: int
    last_seq: int
    bytes: int
    idx: int
    repeat_of: str | None
    tracking_ids: tuple[str, ...]

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def segment_count(self) -> int:
        return self.last_seq - self.first_seq + 1


@dataclass(frozen=True, slots=True)
class SegmentRow:
    seq: int
    idx: int
    run: str
    run_index: int
    sha256: str
    init: str
    start_ms: int
    end_ms: int
    frames: int
    dropped: int
    bytes: int


@dataclass(frozen=True, slots=True)
class ClipQuery:
    order_id: str | None = None
    tracking_id: str | None = None
    station: str | None = None
    status: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 50
    offset: int = 0


class Store:
    def __init__(self, engine: Engine, log: Log, blob_store: BlobStore) -> None:
        self.engine = engine
        self.log = log
        self.blobs = blob_store

    @classmethod
    def open(
        cls,
        url: str,
        blob_dir: Path,
        origin: str,
        *,
        create: bool = False,
        min_free_bytes: int = 0,
    ) -> Store:
        engine = connect(url)
        try:
            migrate(engine)
            log = Log.open(engine, origin, create=create)
            return cls(engine, log, BlobStore(blob_dir, min_free_bytes=min_free_bytes))
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------

    def append(self, batch: Sequence[Entry]) -> list[Appended]:
        with write_transaction(self.engine) as conn:
            return self.log.append_in(conn, batch, on_append=self._index)

    def put_blob_file(self, path: Path, at_ms: int) -> BlobInfo:
        info = self.blobs.put_file(path)
        self._record_blob(info, at_ms)
        return info

    def put_blob_bytes(self, data: bytes, at_ms: int) -> BlobInfo:
        info = self.blobs.put_bytes(data)
        self._record_blob(info, at_ms)
        return info

    def _record_blob(self, info: BlobInfo, at_ms: int) -> None:
        with write_transaction(self.engine) as conn:
            known = conn.execute(
                select(blobs.c.sha256).where(blobs.c.sha256 == info.sha256)
            ).first()
            if known is None:
                conn.execute(
                    insert(blobs).values(sha256=info.sha256, size=info.size, stored_ms=at_ms)
                )
            else:
                conn.execute(
                    update(blobs).where(blobs.c.sha256 == info.sha256).values(purged_ms=None)
                )

    def _index(self, conn: Connection, index: int, entry: Entry, _data: bytes) -> None:
        log_id = self.log.log_id
        if isinstance(entry, Segment):
            conn.execute(
                insert(segments).values(
                    log_id=log_id,
                    seq=entry.seq,
                    idx=index,
                    run=entry.run,
                    run_index=entry.index,
                    sha256=entry.sha256,
                    init=entry.init,
                    start_ms=entry.start,
                    end_ms=entry.end,
                    frames=entry.frames,
                    dropped=entry.dropped,
                    bytes=entry.bytes,
                )
            )
        elif isinstance(entry, Clip):
            conn.execute(
                insert(clips).values(
                    clip_id=entry.clip_id,
                    log_id=log_id,
                    idx=index,
                    order_id=entry.order_id,
                    status=entry.status,
                    end_reason=entry.end_reason,
                    station=entry.station,
                    operator=entry.operator,
                    started_ms=entry.started,
                    ended_ms=entry.ended,
                    start_ms=entry.start_ms,
                    end_ms=entry.end_ms,
                    first_seq=entry.segments[0].seq,
                    last_seq=entry.segments[-1].seq,
                    bytes=sum(s.bytes for s in entry.segments),
                    repeat_of=entry.repeat_of,
                )
            )
            if entry.tracking_ids:
                conn.execute(
                    insert(clip_tracking),
                    [
                        {"clip_id": entry.clip_id, "tracking_id": t}
                        for t in sorted(set(entry.tracking_ids))
                    ],
                )
        elif isinstance(entry, Purge):
            purged = select(segments.c.sha256).where(
                segments.c.log_id == log_id,
                segments.c.seq >= entry.first_seq,
                segments.c.seq <= entry.last_seq,
            )
            conn.execute(
                update(blobs).where(blobs.c.sha256.in_(purged)).values(purged_ms=entry.time)
            )

    # -- reading ---------------------------------------------------------------------

    def clips(self, query: ClipQuery = ClipQuery()) -> list[ClipRow]:
        q = select(clips).where(clips.c.log_id == self.log.log_id)
        if query.order_id is not None:
            q = q.where(clips.c.order_id == query.order_id)
        if query.tracking_id is not None:
            q = q.where(
                clips.c.clip_id.in_(
                    select(clip_tracking.c.clip_id).where(
                        clip_tracking.c.tracking_id == query.tracking_id
                    )
                )
            )
        if query.station is not None:
            q = q.where(clips.c.station == query.station)
        if query.status is not None:
            q = q.where(clips.c.status == query.status)
        if query.since_ms is not None:
            q = q.where(clips.c.started_ms >= query.since_ms)
        if query.until_ms is not None:
            q = q.where(clips.c.started_ms < query.until_ms)
        q = (
            q.order_by(clips.c.started_ms.desc(), clips.c.clip_id)
            .limit(query.limit)
            .offset(query.offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            tracking = self._tracking(conn, [r.clip_id for r in rows])
        return [_clip_row(r, tracking.get(r.clip_id, ())) for r in rows]

    def clip(self, clip_id: str) -> ClipRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(clips).where(clips.c.log_id == self.log.log_id, clips.c.clip_id == clip_id)
            ).first()
            if row is None:
                return None
            return _clip_row(row, self._tracking(conn, [clip_id]).get(clip_id, ()))

    def find_clip(self, order_or_clip_id: str) -> ClipRow:
        """The clip with this id, else the newest clip of this order."""
        row = self.clip(order_or_clip_id)
        if row is not None:
            return row
        found = self.clips(ClipQuery(order_id=order_or_clip_id, limit=1))
        if not found:
            raise LogStateError(
                f"no clip or order {order_or_clip_id!r} in this store",
                hint="list sealed clips with `packseal clips`",
            )
        return found[0]

    def clips_of_order(self, order_id: str) -> list[ClipRow]:
        return self.clips(ClipQuery(order_id=order_id, limit=1000))

    def segments(self, first_seq: int, last_seq: int) -> list[SegmentRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(segments)
                .where(
                    segments.c.log_id == self.log.log_id,
                    segments.c.seq >= first_seq,
                    segments.c.seq <= last_seq,
                )
                .order_by(segments.c.seq)
            ).all()
        return [_segment_row(r) for r in rows]

    def segments_of_run(self, run: str) -> list[SegmentRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(segments)
                .where(segments.c.log_id == self.log.log_id, segments.c.run == run)
                .order_by(segments.c.seq)
            ).all()
        return [_segment_row(r) for r in rows]

    def last_segment(self) -> SegmentRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(segments)
                .where(segments.c.log_id == self.log.log_id)
                .order_by(segments.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else _segment_row(row)

    def blob_purged(self, sha256: str) -> bool:
        with self.engine.connect() as conn:
            value = conn.execute(select(blobs.c.purged_ms).where(blobs.c.sha256 == sha256)).first()
        return value is not None and value.purged_ms is not None

    def count_clips(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(clips).where(clips.c.log_id == self.log.log_id)
                ).scalar_one()
            )

    @staticmethod
    def _tracking(conn: Connection, clip_ids: list[str]) -> dict[str, tuple[str, ...]]:
        if not clip_ids:
            return {}
        out: dict[str, list[str]] = {}
        rows = conn.execute(
            select(clip_tracking.c.clip_id, clip_tracking.c.tracking_id)
            .where(clip_tracking.c.clip_id.in_(clip_ids))
            .order_by(clip_tracking.c.tracking_id)
        )
        for r in rows:
            out.setdefault(r.clip_id, []).append(r.tracking_id)
        return {k: tuple(v) for k, v in out.items()}


def _clip_row(r: Any, tracking: tuple[str, ...]) -> ClipRow:
    return ClipRow(
        clip_id=r.clip_id,
        order_id=r.order_id,
        status=r.status,
        end_reason=r.end_reason,
        station=r.station,
        operator=r.operator,
        started_ms=int(r.started_ms),
        ended_ms=int(r.ended_ms),
        start_ms=int(r.start_ms),
        end_ms=int(r.end_ms),
        first_seq=int(r.first_seq),
        last_seq=int(r.last_seq),
        bytes=int(r.bytes),
        idx=int(r.idx),
        repeat_of=r.repeat_of,
        tracking_ids=tracking,
    )


def _segment_row(r: Any) -> SegmentRow:
    return SegmentRow(
        seq=int(r.seq),
        idx=int(r.idx),
        run=r.run,
        run_index=int(r.run_index),
        sha256=r.sha256,
        init=r.init,
        start_ms=int(r.start_ms),
        end_ms=int(r.end_ms),
        frames=int(r.frames),
        dropped=int(r.dropped),
        bytes=int(r.bytes),
    )
