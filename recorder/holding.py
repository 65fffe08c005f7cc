"""Orders-only recording: which closed segment to seal, drop, or hold a while longer.

A pure policy over times (milliseconds of footage): no store, no clock, no threads.
In continuous mode every segment is sealed. In orders-only mode a segment is sealed when
an open clip (from its pre-roll on) or a pending clip plan covers it; one nobody will ever
ask for is dropped: older than every open or pending clip's pre-roll, and either past the
window in which a late order scan could still claim it, or followed by one that is
wanted. Anything else is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from recorder.sealer import ClipPlan
from recorder.settings import StationSettings

Verdict = Literal["seal", "drop", "hold"]
Span = tuple[int, int]  # a segment's (start, end) in footage milliseconds


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    orders_only: bool
    pre_roll_ms: int
    hold_ms: int  # how long an unwanted segment may wait for a late order scan

    @classmethod
    def of(cls, settings: StationSettings) -> HoldPolicy:
        pre_roll = round(settings.clips.pre_roll_seconds * 1000)
        return cls(
            orders_only=settings.clips.record == "orders-only",
            pre_roll_ms=pre_roll,
            # A late scan confirms within the confirm window, and its pre-roll reaches back;
            # two segments of slack for the segment being written and the one closing.
            hold_ms=pre_roll
            + settings.scan.confirm_window_ms
            + 2 * settings.encoder.segment_seconds * 1000,
        )

    def wanted(self, span: Span, open_started: int | None, pending: Sequence[ClipPlan]) -> bool:
        """Whether a clip (open since ``open_started``, or pending) needs this segment."""
        if not self.orders_only:
            return True
        start, end = span
        if open_started is not None and end > open_started - self.pre_roll_ms:
            return True
        return any(p.start_at < end and start < p.end_at for p in pending)

    def verdict(
        self,
        held: Sequence[Span],
        *,
        footage_ms: int,
        open_started: int | None,
        pending: Sequence[ClipPlan],
        final: bool,
    ) -> Verdict:
        """What to do with the oldest of the ``held`` segments (in order, not empty), at
        ``footage_ms`` (the newest frame's time); ``final`` when nothing more will come."""
        if self.wanted(held[0], open_started, pending):
            return "seal"
        later_wanted = any(self.wanted(s, open_started, pending) for s in held[1:])
        if final or held[0][1] < footage_ms - self.hold_ms or later_wanted:
            return "drop"
        return "hold"
