"""Sealing: closed segments and closed clips become blobs, log entries and checkpoints.

The sealer is the station's only writer to the store. A segment is stored (fsynced,
content-addressed) before its entry is appended, so the log never names a segment
that is not on disk; a failure to store raises before anything is logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from recorder.clock import Clock
from recorder.controller import ClipClosed
from storage import Ed25519Signer, Store, StoredCheckpoint
from storage.entries import Clip, ClipView, Gap, Segment, SegmentRef, Video
from storage.footage import FootageSource
from storage.zones import zone_name


@dataclass(frozen=True, slots=True)
class ClipPlan:
    """A closed clip waiting for its post-roll segments."""

    closed: ClipClosed
    run: str
    start_at: int  # started - pre-roll
    end_at: int  # ended + post-roll
    pre_roll: int
    post_roll: int
    source: FootageSource | None = None  # what filmed it (storage.footage)


def select_segments(segments: Sequence[Segment], start_at: int, end_at: int) -> list[Segment]:
    """The whole segments (of one run, in order) that cover ``[start_at, end_at]``."""
    chosen = [s for s in segments if s.end > start_at and s.start < end_at]
    if not chosen and segments:
        # A clip shorter than a segment, or one that fell between two: take the nearest.
        chosen = [min(segments, key=lambda s: abs(s.start - start_at))]
    return chosen


class Sealer:
    def __init__(
        self,
        store: Store,
        signer: Ed25519Signer,
        clock: Clock,
        *,
        station: str,
        operator: str,
        zone: dt.tzinfo,
    ) -> None:
        self.store = store
        self.signer = signer
        self.clock = clock
        self.station = station
        self.operator = operator
        self.zone = zone  # the overlay's: a clip names the zone its burned-in clock showed
        last = store.last_segment()
        # Segment numbers are station-wide (every view's segments count them); gaps are
        # found per view, against that view's last segment.
        self.next_seq = 0 if last is None else last.seq + 1
        self.last_segment_end: int | None = None if last is None else last.end_ms
        self._view_ends: dict[str | None, int | None] = {}

    def last_end(self, view: str | None) -> int | None:
        """The end of the last sealed segment of ``view`` (None: a one-camera station's)."""
        if view not in self._view_ends:
            row = self.store.last_view_segment(view)
            self._view_ends[view] = None if row is None else row.end_ms
        return self._view_ends[view]

    def seal_init(self, path: Path) -> str:
        return self.store.put_blob_file(path, self.clock.now_ms()).sha256

    def seal_segment(
        self,
        *,
        run: str,
        index: int,
        path: Path,
        init: str,
        start: int,
        end: int,
        frames: int,
        dropped: int,
        view: str | None = None,
    ) -> Segment:
        info = self.store.put_blob_file(path, self.clock.now_ms())
        entry = Segment(
            time=self.clock.now_ms(),
            seq=self.next_seq,
            run=run,
            index=index,
            sha256=info.sha256,
            init=init,
            start=start,
            end=end,
            frames=frames,
            dropped=dropped,
            bytes=info.size,
            view=view,
        )
        (appended,) = self.store.append([entry])
        self.next_seq += 1
        self._view_ends[view] = end
        self.last_segment_end = max(end, self.last_segment_end or end)
        assert isinstance(appended.entry, Segment)
        return appended.entry

    def seal_clip(
        self,
        plan: ClipPlan,
        segments: Sequence[Segment],
        video: Video,
        *,
        view: str | None = None,
        views: Sequence[ClipView] = (),
    ) -> Clip:
        """The clip entry: ``segments`` of the primary ``view``, and each further view's
        part (one signature over all of them)."""
        closed = plan.closed
        clip = closed.clip
        entry = Clip(
            time=self.clock.now_ms(),
            clip_id=clip.clip_id,
            order_id=clip.order_id,
            status=closed.status,
            end_reason=closed.end_reason,
            started=clip.started,
            ended=closed.ended,
            pre_roll=plan.pre_roll,
            post_roll=plan.post_roll,
            station=self.station,
            operator=self.operator,
            run=plan.run,
            init=segments[0].init,
            segments=tuple(SegmentRef(s.seq, s.sha256, s.start, s.end, s.bytes) for s in segments),
            scans=clip.scans,
            video=video,
            zone=zone_name(self.zone, clip.started) or "",
            tracking_ids=clip.tracking_ids,
            repeat_of=clip.repeat_of,
            source=plan.source,
            view=view,
            views=tuple(views) or None,
        ).signed_by(self.signer)
        (appended,) = self.store.append([entry])
        self.checkpoint()
        assert isinstance(appended.entry, Clip)
        return appended.entry

    def log_gap(
        self, start: int, end: int, reason: str, detail: str = "", *, view: str | None = None
    ) -> Gap:
        entry = Gap(
            time=self.clock.now_ms(),
            start=start,
            end=max(start, end),
            reason=reason,
            after_seq=self.next_seq - 1 if self.next_seq else None,
            detail=detail[:500],
            view=view,
        )
        (appended,) = self.store.append([entry])
        assert isinstance(appended.entry, Gap)
        return appended.entry

    def checkpoint(self) -> StoredCheckpoint:
        return self.store.sign_checkpoint(self.signer, self.clock.now_ms())
