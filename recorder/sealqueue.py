"""The station's seal queue: closed segments and closed clips on their way into the log.

Runs (one per encoder process) are sealed strictly in order, each segment as it closes
(after the hold policy says so, :mod:`recorder.holding`); a closed clip waits as a
:class:`~recorder.sealer.ClipPlan` until the segments of its post-roll are sealed, then
its entry is sealed over the segments that cover it. Whatever footage is missing before
a segment is logged as a ``gap`` with the reason its run carries (``Run.gap_reason``: set
by the thread that started the run, before the run was handed over).

A station with several views has one queue per view (each seals its view's segments and
logs its view's gaps); the primary's queue holds the clip plans (``pending``, shared with
the others' hold policy) and seals each clip over every view's part (:meth:`SealQueue.part`).

Used by the station's main loop only, apart from :meth:`SealQueue.add_run`, which the
writer thread calls.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recorder.controller import ClipClosed
from recorder.copyrun import CopyRun
from recorder.encoder import ClosedSegment
from recorder.holding import HoldPolicy
from recorder.run import Run, SegmentTiming
from recorder.sealer import ClipPlan, Sealer, select_segments
from storage.entries import Clip, ClipView, Segment, SegmentRef, Video
from storage.facts import GAP_TOLERANCE_MS
from storage.footage import FootageSource


@dataclass(frozen=True, slots=True)
class Sealed:
    """A clip plan that left the queue: sealed as ``entry``, or lost (``entry`` None: no
    footage covered it, and a gap says so)."""

    plan: ClipPlan
    entry: Clip | None


@dataclass(frozen=True, slots=True)
class _Held:
    run: Run | CopyRun
    segment: ClosedSegment
    timing: SegmentTiming
    reported_ms: int  # when the segment was seen closed (station clock)


class SealQueue:
    def __init__(
        self,
        sealer: Sealer,
        policy: HoldPolicy,
        video: Video,
        *,
        pre_roll_ms: int,
        post_roll_ms: int,
        view: str | None = None,
        pending: list[ClipPlan] | None = None,
    ) -> None:
        self.sealer = sealer
        self.view = view  # the view whose segments this queue seals (None: the one camera)
        self.policy = policy
        self.video = video
        self.pre_roll_ms = pre_roll_ms
        self.post_roll_ms = post_roll_ms
        # Oldest first; sealed strictly in order. The writer thread appends while the main
        # loop reads: the main loop iterates copies (list() of a deque or dict is atomic).
        self.runs: deque[Run | CopyRun] = deque()
        self.run_segments: dict[str, list[Segment]] = {}
        self.current_run: str | None = None  # the run the writer records into
        # Closed clips waiting for their post-roll: the primary's queue owns the list, a
        # further view's queue is given it (its hold policy and retention look at it).
        self.pending: list[ClipPlan] = [] if pending is None else pending
        # The open clip's first wanted footage (started - pre-roll), set by the station: a
        # further view keeps the segments of an ended run while a clip may still want them.
        self.open_from: int | None = None
        self._held: deque[_Held] = deque()
        self._recovering = False
        # What the footage is coming from now (the station sets it), read by the writer
        # thread as each run starts: a clip names the source of the run that filmed it. Read
        # when the clip closed, it named the camera plugged back in meanwhile when the main
        # loop closed the clip after the writer had reopened the source (a race under load).
        self.source_of: Callable[[], FootageSource | None] = lambda: None
        self.run_sources: dict[str, FootageSource | None] = {}

    # -- runs --------------------------------------------------------------------------

    def add_run(self, run: Run | CopyRun) -> None:
        """A run the writer started (call under the station's lock)."""
        self.runs.append(run)
        self.run_segments[run.id] = []
        self.run_sources[run.id] = self.source_of()
        self.current_run = run.id

    def recover(self, run: Run | CopyRun, sealed: list[Segment], now_ms: int) -> list[int]:
        """A run a crashed station left on disk, ``sealed`` its segments already logged:
        seal the rest of what it closed. Returns what :meth:`seal_closed` returns."""
        if sealed:
            run.init_sha = sealed[0].init
            run.sealed_segments = len(sealed)
        self.runs.append(run)
        self.run_segments[run.id] = sealed
        self._recovering = True  # its clips are planned only after every run is sealed
        return self.seal_closed(now_ms=now_ms, footage_ms=0, open_started=None)

    def end_recovery(self) -> None:
        self._recovering = False
        for run_id in list(self.run_segments):
            self._trim(run_id)

    def drained(self) -> bool:
        return not self.pending and all(r.drained() for r in list(self.runs))

    # -- segments ----------------------------------------------------------------------

    def seal_closed(
        self, *, now_ms: int, footage_ms: int, open_started: int | None, final: bool = False
    ) -> list[int]:
        """Seal (or drop) what the runs closed, in order. Returns, for each segment sealed,
        when it was seen closed."""
        sealed: list[int] = []
        while self.runs:
            run = self.runs[0]
            for seg, timing in run.closed_segments():
                self._held.append(_Held(run, seg, timing, now_ms))
            sealed += self._settle(footage_ms, open_started, final=final or run.drained())
            if not run.drained() or any(h.run is run for h in self._held):
                break
            self.runs.popleft()
            with contextlib.suppress(OSError):
                run.remove()
            self._trim(run.id)
        return sealed

    def _settle(self, footage_ms: int, open_started: int | None, *, final: bool) -> list[int]:
        sealed: list[int] = []
        while self._held:
            verdict = self.policy.verdict(
                [(h.timing.start_ms, h.timing.end_ms) for h in self._held],
                footage_ms=footage_ms,
                open_started=open_started,
                pending=self.pending,
                final=final,
            )
            if verdict == "hold":
                break
            held = self._held.popleft()
            if verdict == "seal":
                self._seal(held)
                sealed.append(held.reported_ms)
            else:
                held.segment.path.unlink(missing_ok=True)
        return sealed

    def _seal(self, held: _Held) -> None:
        run, seg, timing = held.run, held.segment, held.timing
        if run.init_sha is None:
            run.init_sha = self.sealer.seal_init(run.init_path)
        last_end = self.sealer.last_end(self.view)
        if last_end is not None and timing.start_ms - last_end > GAP_TOLERANCE_MS:
            reason = run.gap_reason if run.sealed_segments == 0 else "not-recording"
            self.sealer.log_gap(
                last_end,
                timing.start_ms,
                reason,
                f"before segment {seg.index} of run {run.id}",
                view=self.view,
            )
        run.sealed_segments += 1
        entry = self.sealer.seal_segment(
            run=run.id,
            index=seg.index,
            path=seg.path,
            init=run.init_sha,
            start=timing.start_ms,
            end=timing.end_ms,
            frames=timing.frames,
            dropped=timing.dropped,
            view=self.view,
        )
        self.run_segments[run.id].append(entry)
        seg.path.unlink(missing_ok=True)
        run.release()

    def _trim(self, run_id: str) -> None:
        if self._recovering:
            return  # the crashed station's open clip is planned only after its runs are sealed
        if run_id == self.current_run or any(p.run == run_id for p in self.pending):
            return
        segs = self.run_segments.get(run_id)
        if segs and self.view is not None:
            # A further view's part of a clip is chosen by time (SealQueue.part): keep an
            # ended run while the open clip or a pending one may still want its footage.
            end = segs[-1].end
            if (self.open_from is not None and end > self.open_from) or any(
                p.start_at < end for p in self.pending
            ):
                return
        self.run_segments.pop(run_id, None)
        self.run_sources.pop(run_id, None)

    def _trim_ended(self) -> None:
        for run_id in list(self.run_segments):
            if all(r.id != run_id for r in list(self.runs)):
                self._trim(run_id)

    # -- clips -------------------------------------------------------------------------

    def plan(self, closed: ClipClosed, run: str | None) -> ClipPlan:
        """A closed clip's plan: its segments from its pre-roll to its post-roll."""
        run = run or self.current_run or ""
        return ClipPlan(
            closed=closed,
            run=run,
            start_at=closed.clip.started - self.pre_roll_ms,
            end_at=closed.ended + self.post_roll_ms,
            pre_roll=self.pre_roll_ms,
            post_roll=self.post_roll_ms,
            source=self._source(run),
        )

    def _source(self, run: str) -> FootageSource | None:
        """The source of ``run`` as it started (a crashed station's run: the current one)."""
        return self.run_sources[run] if run in self.run_sources else self.source_of()

    def last_end(self, run: str | None) -> int | None:
        """The end of the last sealed segment of ``run``, if any."""
        segs = self.run_segments.get(run or "", [])
        return segs[-1].end if segs else None

    # -- a further view's part of a clip ------------------------------------------------------

    def covers(self, end_at: int) -> bool:
        """Whether this view has sealed its footage up to ``end_at``, or will record none
        (its camera is gone: nothing is running)."""
        if not self.runs:
            return True
        segs = self.run_segments.get(self.runs[-1].id, [])
        return bool(segs) and segs[-1].end >= end_at

    def part(self, plan: ClipPlan) -> ClipView | None:
        """This view's whole segments covering the plan, from the one run that has most of
        them (a view that lost its camera mid-clip has its footage up to the loss, and a gap
        of its own after); None when it has none (a gap of this view says why)."""
        assert self.view is not None
        best: list[Segment] = []
        best_run = ""
        for run_id, segs in list(self.run_segments.items()):
            chosen = [s for s in segs if s.end > plan.start_at and s.start < plan.end_at]
            if len(chosen) > len(best):
                best, best_run = chosen, run_id
        if not best:
            return None
        return ClipView(
            view=self.view,
            run=best_run,
            init=best[0].init,
            segments=tuple(SegmentRef(s.seq, s.sha256, s.start, s.end, s.bytes) for s in best),
            video=self.video,
            source=self._source(best_run),
        )

    def seal_ready(self, *, final: bool, views: Sequence[SealQueue] = ()) -> list[Sealed]:
        """Seal the pending clips whose segments are all sealed (``final``: all of them),
        each over this queue's segments and every further view's part."""
        still: list[ClipPlan] = []
        done: list[Sealed] = []
        for plan in self.pending:
            segs = self.run_segments.get(plan.run, [])
            run_open = any(r.id == plan.run for r in list(self.runs))
            ready = final or (
                (not run_open or bool(segs and segs[-1].end >= plan.end_at))
                and all(v.covers(plan.end_at) for v in views)
            )
            if not ready:
                still.append(plan)
                continue
            chosen = select_segments(segs, plan.start_at, plan.end_at)
            if not chosen:
                clip = plan.closed.clip
                self.sealer.log_gap(
                    clip.started,
                    plan.closed.ended,
                    "encoder-died" if plan.closed.status == "interrupted" else "crash",
                    f"order {clip.order_id}: no footage was sealed for clip {clip.clip_id}",
                    view=self.view,
                )
                done.append(Sealed(plan, None))
                continue
            parts = [p for p in (v.part(plan) for v in views) if p is not None]
            entry = self.sealer.seal_clip(plan, chosen, self.video, view=self.view, views=parts)
            done.append(Sealed(plan, entry))
        self.pending[:] = still  # in place: the further views' queues share the list
        if done:
            for queue in (self, *views):
                queue._trim_ended()
        return done
