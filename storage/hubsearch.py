"""Search every mirrored log's clips at once (the hub's portal): one indexed query.

The clip index rows of all mirrored logs share the ``clips`` table, so a search by order
id, tracking number, station or date is the same query a station runs, without its
``log_id`` filter, joined to the station each log belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from storage._rows import ClipQuery, ClipRow, clip_page, clip_row, tracking_of
from storage._schema import blobs, clips, hub_stations, segments


@dataclass(frozen=True, slots=True)
class HubClip:
    station: str  # the enrolled station whose log holds it
    clip: ClipRow


def search_clips(engine: Engine, query: ClipQuery) -> list[HubClip]:
    q = select(clips, hub_stations.c.station.label("hub_station")).join(
        hub_stations, hub_stations.c.log_id == clips.c.log_id
    )
    if query.station is not None:
        # clips.station is indexed (with started_ms); the enrolment must agree with it
        q = q.where(hub_stations.c.station == query.station)
    q = clip_page(q, query)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        tracking = tracking_of(conn, [r.clip_id for r in rows])
    return [HubClip(r.hub_station, clip_row(r, tracking.get(r.clip_id, ()))) for r in rows]


@dataclass(frozen=True, slots=True)
class Unheld:
    blobs: int
    bytes: int
    oldest_ms: int | None


def unheld_blobs(engine: Engine, log_id: int) -> Unheld:
    """Segments of a mirrored log whose blob the hub does not hold yet (its backlog)."""
    missing = (
        select(segments.c.bytes, segments.c.start_ms)
        .select_from(segments.outerjoin(blobs, blobs.c.sha256 == segments.c.sha256))
        .where(segments.c.log_id == log_id, blobs.c.sha256.is_(None))
        .subquery()
    )
    with engine.connect() as conn:
        count, total, oldest = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(missing.c.bytes), 0),
                func.min(missing.c.start_ms),
            )
        ).one()
    return Unheld(int(count), int(total), None if oldest is None else int(oldest))


__all__ = ["HubClip", "Unheld", "search_clips", "unheld_blobs"]
