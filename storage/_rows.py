"""The store's index rows as values: a clip, a segment, and a query over clips.

Rows of the ``clips`` and ``segments`` index tables (derived from the log's entries in
the append transaction; see :mod:`storage.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select

from storage._schema import clip_tracking, clips


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
    # The views' names, the primary first; () for a one-view clip. first_seq..last_seq
    # then spans every view's segments, interleaved (segment numbers are station-wide).
    views: tuple[str, ...] = ()
    # Each view's segment count, in the order of ``views``; () for a one-view clip.
    view_segments: tuple[int, ...] = ()

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def segment_count(self) -> int:
        """The clip's segments (of its first camera, for several: ``view_segments`` has
        each view's). Not the span first_seq..last_seq for several views: their segment
        numbers interleave (station-wide), so the span counts every view's."""
        if self.view_segments:
            return self.view_segments[0]
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
    view: str | None = None  # the camera of a station with several (Segment.view)


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


def clip_row(r: Any, tracking: tuple[str, ...]) -> ClipRow:
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
        views=tuple(r.views.split()) if r.views else (),
        view_segments=tuple(int(n) for n in r.view_segments.split()) if r.view_segments else (),
    )


def segment_row(r: Any) -> SegmentRow:
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
        view=r.view,
    )


def clip_page(q: Select[Any], query: ClipQuery) -> Select[Any]:
    """``q`` (a select over ``clips``: one log's, or the hub's join) narrowed by ``query``,
    newest first, one page. The station's store and the hub's search share it."""
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
    return (
        q.order_by(clips.c.started_ms.desc(), clips.c.clip_id)
        .limit(query.limit)
        .offset(query.offset)
    )


def tracking_of(conn: Connection, clip_ids: list[str]) -> dict[str, tuple[str, ...]]:
    """The tracking ids of each of these clips, sorted."""
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
