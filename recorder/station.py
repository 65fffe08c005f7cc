"""The station: one capture pipeline per view, one controller, one sealer, all at once.

Threads (data flows one way; only the main loop writes to the store)::

    per view (recorder/pipeline.py):
      capture  source.read() -> frame queue (bounded; a late writer drops, counted)
               `-> newest frame -> its scanner, if the view scans (<= rate_hz) -> events
      writer   frame queue -> overlay -> I420 -> ffmpeg (one Run per encoder process)
    main     events -> controller -> clip plans; each view's closed segments -> sealer;
             a closed clip -> one clip entry over every view's segments; checkpoints

A run ends when its camera is lost, its encoder dies, or the station stops; the next
run starts with the next frame. Whatever footage a view is missing between two runs is
logged as a ``gap`` entry (of that view, on a station with ``station.cameras``) when the
first segment of the next run is sealed. The primary view carries the clip: its camera
lost interrupts the open clip, as with one camera; a further view's is an alarm and that
view's gap, and the clip goes on.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal, TypeAlias

from recorder._errors import SourceError
from recorder.anchor import Anchorer
from recorder.clock import Clock
from recorder.controller import (
    Alarm,
    AlarmsAcknowledged,
    ClipClosed,
    ClipOpened,
    ClipUpdated,
    Controller,
    ControllerSettings,
    Event,
    Motion,
    ScanEvent,
    Shutdown,
    SourceLostEvent,
    Tick,
)
from recorder.copyrun import FFMPEG_MODES, CopyRun
from recorder.encoder import ffmpeg_path
from recorder.overlay import OverlayState
from recorder.pipeline import Pipeline
from recorder.run import META_FILE, Run
from recorder.scanner import Classifier, FrameMotion, Reads, Scanner, ScanStats
from recorder.sealer import Sealer
from recorder.settings import StationSettings
from recorder.sources import Frame, FrameSource
from recorder.state import StationState
from recorder.status import ClipSummary, Counters, StationAlarmKind, StationStatus, run_stats
from recorder.viewevents import ViewAlarm, ViewScan
from storage import DiskFullError, Ed25519Signer, Store
from storage.entries import Clip, Scan, Segment, parse_as
from storage.zones import local_zone

# What the main loop's queue carries: each view's scans (tagged with the view) and motion
# readings, gun and web scans (Station.submit), the controller's events from the primary
# view's capture thread, and a further view's alarms.
StationInput: TypeAlias = Scan | ViewScan | FrameMotion | Event | ViewAlarm


class Station:
    def __init__(
        self,
        settings: StationSettings,
        store: Store,
        signer: Ed25519Signer,
        source: FrameSource | Sequence[FrameSource],
        *,
        clock: Clock,
        workdir: Path,
        realtime: bool = True,
        for_ms: int | None = None,
        anchorer: Anchorer | None = None,
    ) -> None:
        """``source``: one per view of ``settings.views`` (the primary first), or the one
        camera's."""
        self.settings = settings
        views = settings.views
        sources = [source] if not isinstance(source, Sequence) else list(source)
        if len(sources) != len(views):
            raise SourceError(
                f"station: expected a source for each of its {len(views)} view(s), "
                f"found {len(sources)}",
                hint="station.cameras lists the views; give each view its source",
            )
        # Time-stamps and witness cosignatures: polled by the main loop, network on its
        # own thread (recorder/anchor.py), so anchoring never delays capture or sealing.
        self.anchorer = anchorer
        self.store = store
        self.clock = clock
        self.workdir = workdir
        self.realtime = realtime
        self.for_ms = for_ms
        workdir.mkdir(parents=True, exist_ok=True)
        self.state_path = workdir / "station-state.json"
        self.ffmpeg = ffmpeg_path(settings.encoder)
        zone = local_zone(settings.timezone)
        self.sealer = Sealer(
            store, signer, clock, station=settings.id, operator=settings.operator, zone=zone
        )
        clips = settings.clips
        self.controller = Controller(
            ControllerSettings(
                idle_ms=round(clips.idle_seconds * 1000),
                max_ms=round(clips.max_seconds * 1000),
                motion_threshold=clips.motion_threshold,
                stop_code=settings.scan.stop_code,
                cancel_code=settings.scan.cancel_code,
                ack_code=settings.scan.ack_code,
            ),
            sealed_before=self._sealed_before,
        )
        self.classifier = Classifier(settings.scan)
        self.events: queue.Queue[StationInput] = queue.Queue()
        self._overlay_state = OverlayState(settings.id, settings.operator)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.pipelines: list[Pipeline] = []
        for i, (view, frames) in enumerate(zip(views, sources, strict=True)):
            self.pipelines.append(
                Pipeline(
                    view,
                    frames,
                    settings,
                    primary=i == 0,
                    sealer=self.sealer,
                    clock=clock,
                    workdir=workdir,
                    ffmpeg=self.ffmpeg,
                    events=self.events,
                    stop=self._stop,
                    overlay_state=lambda: self._overlay_state,
                    realtime=realtime,
                    for_ms=for_ms,
                    pending=None if i == 0 else self.pipelines[0].queue.pending,
                )
            )
        primary = self.pipelines[0]
        self.primary = primary
        self.source = primary.source
        self.fps = primary.fps
        self.video = primary.video
        self.queue = primary.queue  # the primary's: it holds the clip plans
        self._views = [p.queue for p in self.pipelines[1:]]
        # Scans from two views of one code: the second view's read of a code another view
        # confirmed moments ago is the same showing, not a re-scan (which closes a clip).
        self._camera_reads: dict[str, tuple[str | None, int]] = {}
        self._open_run: str | None = None
        self._state = StationState()
        self._counters = Counters()
        self._recent: deque[ClipSummary] = deque(maxlen=10)
        self._alarms: deque[tuple[StationAlarmKind, str]] = deque(maxlen=5)
        self._last_scan: Scan | None = None
        self._fatal: BaseException | None = None
        self._started = False
        self._segment_closed_at: int | None = None

    @property
    def latest_frame(self) -> Frame | None:
        """The primary view's newest frame (the station screen's preview)."""
        return self.primary.latest_frame

    @property
    def _last_frame_t(self) -> int | None:
        return self.primary.last_frame_t

    @property
    def _first_frame_t(self) -> int | None:
        return self.primary.first_frame_t

    # -- public ------------------------------------------------------------------------

    def run(self) -> None:
        """Record until :meth:`stop`, the end of the primary view's source, or ``for_ms``
        of footage."""
        self.recover()
        self._state.running = True
        self._state.save(self.state_path)
        for p in self.pipelines:
            p.start()
        self._started = True
        try:
            self._main_loop()
            if self.anchorer is not None and self._fatal is None:
                # The last checkpoint is signed at shutdown: give the TSAs and witnesses
                # a bounded moment for it. Recording has stopped; nothing waits on this.
                self.anchorer.drain(self.anchorer.settings.drain_seconds)
        finally:
            if self.anchorer is not None:
                self.anchorer.close()
            self._stop.set()
            for p in self.pipelines:
                p.join()
            for p in self.pipelines:
                p.close()
            if self._fatal is None:
                self._state.running = False
            self._state.save(self.state_path)
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        self._stop.set()

    def submit(
        self, text: str, source: Literal["gun", "web"] = "web", t_ms: int | None = None
    ) -> Scan | None:
        """A code typed by a scanner gun or on the station page (at ``t_ms``, default
        now): it counts at once. ``None`` for an empty or overlong code."""
        from recorder.gun import gun_scan

        when = self.clock.now_ms() if t_ms is None else t_ms
        scan = gun_scan(text, when, self.classifier, source)
        if scan is not None:
            self.events.put(scan)
        return scan

    def last_reads(self) -> Reads:
        """The raw reads of the primary view's scanner (of the first view that scans)."""
        scanner = self._scanner()
        return Reads(0, ()) if scanner is None else scanner.last_reads()

    def _scanner(self) -> Scanner | None:
        return next((p.scanner for p in self.pipelines if p.scanner is not None), None)

    def status(self) -> StationStatus:
        views = tuple(p.status() for p in self.pipelines)
        with self._lock:
            clip = self.controller.current
            c = self._counters
            alarms = tuple(message for _, message in self._alarms)
            alarm_kinds = tuple(kind for kind, _ in self._alarms)
            if not self._started:
                state: Literal["starting", "idle", "recording", "alarm", "stopped"] = "starting"
            elif self._stop.is_set() and not any(p.queue.runs for p in self.pipelines):
                state = "stopped"
            elif alarms:
                state = "alarm"
            else:
                state = "recording" if clip is not None else "idle"
            return StationStatus(
                state=state,
                # footage time, like clip_started: a file with --epoch or a --fast demo
                # runs on its own clock, and an elapsed time must not mix the two
                now_ms=self._last_frame_t or self.clock.now_ms(),
                order_id=clip.order_id if clip else None,
                clip_started=clip.started if clip else None,
                tracking_ids=clip.tracking_ids if clip else (),
                alarms=alarms,
                alarm_kinds=alarm_kinds,
                last_scan=self._last_scan,
                recent=tuple(reversed(self._recent)),
                frames_captured=sum(v.frames_captured for v in views),
                frames_encoded=sum(v.frames_encoded for v in views),
                frames_dropped=sum(v.frames_dropped for v in views),
                fps=views[0].fps,
                segments_sealed=c.segments,
                clips_opened=c.clips_opened,
                clips_sealed=c.clips_sealed,
                alarm_count=c.alarms,
                log_size=self.sealer.next_seq,
                views=views,
            )

    def clear_alarms(self) -> None:
        with self._lock:
            self._alarms.clear()
        self._overlay_state = replace(self._overlay_state, alarm=None)

    def stats(self) -> dict[str, object]:
        """What ``--stats-json`` writes at exit."""
        footage = (self._last_frame_t or 0) - (self._first_frame_t or 0)
        scanner = self._scanner()
        scan = (
            scanner.stats()
            if scanner is not None
            else ScanStats(0, 0, 0, 0, None, None, None, None)
        )
        per_view = tuple(
            (p.status(), None if p.scanner is None else p.scanner.stats()) for p in self.pipelines
        )
        status = self.status()
        counters = replace(
            self._counters,
            captured=status.frames_captured,
            encoded=status.frames_encoded,
            dropped=status.frames_dropped,
        )
        return run_stats(counters, scan, footage, per_view)

    # -- recovery ----------------------------------------------------------------------

    def recover(self) -> None:
        """Seal what a previous crash left: closed segments, pending and open clips."""
        previous = StationState.load(self.state_path)
        crashed = previous.running
        self._gap_reason = "crash" if crashed else "restart"
        for pipeline in self.pipelines:
            pipeline.gap_reason = self._gap_reason
            self._recover_runs(pipeline)
        self.queue.pending.extend(previous.pending)
        if previous.open is not None:
            clip, open_run = previous.open
            ended = self.queue.last_end(open_run) or clip.started
            closed = ClipClosed(clip, max(ended, clip.started), "crash", "interrupted")
            self.queue.pending.append(self.queue.plan(closed, open_run))
        self._seal_ready_clips(final=True)
        for pipeline in self.pipelines:
            pipeline.queue.end_recovery()
        self._state = StationState(running=False, open=None, pending=list(self.queue.pending))

    def _recover_runs(self, pipeline: Pipeline) -> None:
        """Seal what one view's runs left on disk (each view's runs in its own directory)."""
        for directory in sorted(p for p in pipeline.workdir.iterdir() if p.is_dir()):
            try:
                run_id = Run.run_id_of(directory)
            except (OSError, ValueError, KeyError):
                continue  # not a run directory (a further view's): leave it alone
            sealed = self._segments_of_run(run_id)
            done = frozenset(s.index for s in sealed)
            run: Run | CopyRun
            if json.loads((directory / META_FILE).read_text()).get("mode") in FFMPEG_MODES:
                run = CopyRun.recover(directory, done, self._gap_reason)
            else:
                run = Run.recover(directory, done, self._gap_reason)
            self._sealed_segments(pipeline.queue.recover(run, sealed, self.clock.now_ms()))

    def _segments_of_run(self, run_id: str) -> list[Segment]:
        rows = self.store.segments_of_run(run_id)
        return [parse_as(Segment, self.store.entry(r.idx)) for r in rows]

    # -- the main loop -------------------------------------------------------------------

    def _main_loop(self) -> None:
        # Checkpoints follow footage time: one per checkpoint_seconds recorded, so a file or
        # the demo in --fast mode gets the checkpoints a camera would.
        last_checkpoint: int | None = None
        # Segments arrive whole: sign one segment early so no interval exceeds the setting.
        segment_ms = self.settings.encoder.segment_seconds * 1000
        checkpoint_every = max(segment_ms, self.settings.checkpoint_seconds * 1000 - segment_ms)
        shutdown_seen = False
        while True:
            try:
                item = self.events.get(timeout=0.05)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    if isinstance(item, Shutdown) and not shutdown_seen:
                        shutdown_seen = True
                        self._end_further_views()
                    self._handle(item)
                if self._last_frame_t is not None:
                    self._handle(Tick(self._last_frame_t))
                self._seal_closed()
                self._seal_ready_clips(final=False)
                footage = self.sealer.last_segment_end
                if footage is not None:
                    if last_checkpoint is None:
                        last_checkpoint = self._first_frame_t or footage
                    elif footage - last_checkpoint >= checkpoint_every:
                        self.sealer.checkpoint()
                        last_checkpoint = footage
                if self.anchorer is not None:
                    self.anchorer.poll()
            except DiskFullError as e:
                self._raise_alarm("disk-full", f"disk full: {e.message}")
                self._fatal = e
                self._stop.set()
                self._drain_after_fatal()
                return
            error = next((p.error for p in self.pipelines if p.error is not None), None)
            if error is not None:
                self._fatal = error
                self._stop.set()
                self._drain_after_fatal()
                return
            writers_done = all(p.writer_done() for p in self.pipelines)
            if shutdown_seen and writers_done and self.events.empty():
                self._seal_closed(final=True)
                self._seal_ready_clips(final=True)
                if all(p.queue.drained() for p in self.pipelines):
                    self.sealer.checkpoint()
                    return

    def _end_further_views(self) -> None:
        """The primary view ended: the others end with it, live ones now, files and demos
        read as fast as they decode where the primary's footage ended."""
        if self.realtime:
            self._stop.set()
            return
        for p in self.pipelines[1:]:
            p.end_at_ms = self._last_frame_t or 0

    def _drain_after_fatal(self) -> None:
        """Stop recording but keep what is sealed; log the open clip as interrupted."""
        for p in self.pipelines:
            p.join()
        with contextlib.suppress(Exception):
            self._handle(
                SourceLostEvent(self._last_frame_t or self.clock.now_ms(), "recording stopped")
            )
            self._seal_ready_clips(final=True)

    def _handle(self, item: StationInput) -> None:
        event: Event
        if isinstance(item, ViewAlarm):
            self._raise_alarm(item.kind, item.message)
            return
        if isinstance(item, ViewScan):
            if not self._first_showing(item):
                return
            item = item.scan
        if isinstance(item, Scan):
            with self._lock:
                self._counters.scans += 1
                self._last_scan = item
            event = ScanEvent(item)
        elif isinstance(item, FrameMotion):
            event = Motion(item.t_ms, item.level)
        else:
            event = item
        for action in self.controller.handle(event):
            self._apply(action)

    def _first_showing(self, read: ViewScan) -> bool:
        """False for a view's read of a code another view confirmed within the confirm
        window and re-arm time: the same showing of the code, seen by two cameras."""
        if len(self.pipelines) < 2:
            return True
        scan = read.scan
        scan_settings = self.settings.scan
        window = scan_settings.confirm_window_ms + scan_settings.rearm_ms
        seen = self._camera_reads.get(scan.text)
        if seen is not None and seen[0] != read.view and scan.t - seen[1] < window:
            return False
        self._camera_reads[scan.text] = (read.view, scan.t)
        if len(self._camera_reads) > 256:
            self._camera_reads = {
                k: v for k, v in self._camera_reads.items() if scan.t - v[1] < window
            }
        return True

    def _apply(self, action: object) -> None:
        if isinstance(action, ClipOpened):
            clip = action.clip
            self._open_run = self.queue.current_run
            for further in self._views:
                further.open_from = clip.started - further.pre_roll_ms
            # A new order is the packer moving on: the last one's alarms are history now
            # (counted, and in that clip's scans), not a banner over this one.
            self.clear_alarms()
            with self._lock:
                self._counters.clips_opened += 1
                if self.realtime:
                    self._counters.scan_to_open_ms.append(self.clock.now_ms() - clip.started)
                self._recent.append(
                    ClipSummary(clip.clip_id, clip.order_id, "recording", clip.started)
                )
            self._overlay_state = replace(
                self._overlay_state, order_id=clip.order_id, tracking_id=None
            )
            self._state.open = (clip, self._open_run)
            self._state.save(self.state_path)
        elif isinstance(action, ClipUpdated):
            clip = action.clip
            tracking = clip.tracking_ids[-1] if clip.tracking_ids else None
            self._overlay_state = replace(self._overlay_state, tracking_id=tracking)
            self._state.open = (clip, self._open_run)
            self._state.save(self.state_path)
        elif isinstance(action, ClipClosed):
            self.queue.pending.append(self.queue.plan(action, self._open_run))
            for further in self._views:
                further.open_from = None
            ended, reason = action.ended, action.end_reason
            self._update_recent(
                action.clip.clip_id,
                lambda c: replace(c, state="sealing", ended=ended, end_reason=reason),
            )
            self._overlay_state = replace(self._overlay_state, order_id=None, tracking_id=None)
            self._state.open = None
            self._state.pending = list(self.queue.pending)
            self._state.save(self.state_path)
        elif isinstance(action, Alarm):
            self._raise_alarm(action.kind, action.message)
        elif isinstance(action, AlarmsAcknowledged):
            self.clear_alarms()

    @property
    def _overlay_state(self) -> OverlayState:
        return self._shown

    @_overlay_state.setter
    def _overlay_state(self, state: OverlayState) -> None:
        # The one hook of webcam capture into the station: ffmpeg's caption (drawtext,
        # recorder/drawcaption.py) follows what the Python overlay would draw.
        changed = state != getattr(self, "_shown", None)
        self._shown = state
        if changed:
            for pipeline in getattr(self, "pipelines", ()):
                pipeline.show_caption(state)

    def _raise_alarm(self, kind: StationAlarmKind, message: str) -> None:
        with self._lock:
            self._counters.alarms += 1
            self._alarms.append((kind, message))
        self._overlay_state = replace(self._overlay_state, alarm=message[:60])

    def _update_recent(self, clip_id: str, changed: Callable[[ClipSummary], ClipSummary]) -> None:
        with self._lock:
            for i, item in enumerate(self._recent):
                if item.clip_id == clip_id:
                    self._recent[i] = changed(item)

    # -- sealing -----------------------------------------------------------------------

    def _seal_closed(self, *, final: bool = False) -> None:
        clip = self.controller.current
        for p in self.pipelines:
            sealed = p.queue.seal_closed(
                now_ms=self.clock.now_ms(),
                footage_ms=p.last_frame_t or 0,
                open_started=None if clip is None else clip.started,
                final=final,
            )
            self._sealed_segments(sealed)

    def _sealed_segments(self, reported: list[int]) -> None:
        if reported:
            self._segment_closed_at = reported[-1]
            with self._lock:
                self._counters.segments += len(reported)

    def _seal_ready_clips(self, *, final: bool) -> None:
        done = self.queue.seal_ready(final=final, views=self._views)
        for sealed in done:
            plan, entry = sealed.plan, sealed.entry
            clip_id, order_id = plan.closed.clip.clip_id, plan.closed.clip.order_id
            if entry is None:
                self._update_recent(clip_id, lambda c: replace(c, state="lost"))
                self._raise_alarm("no-footage", f"order {order_id}: no footage sealed")
                continue
            with self._lock:
                self._counters.clips_sealed += 1
                now = self.clock.now_ms()
                if self.realtime:
                    self._counters.close_to_sealed_ms.append(now - plan.closed.ended)
                    last_reported = self._segment_closed_at
                    if last_reported is not None:
                        self._counters.segment_to_sealed_ms.append(now - last_reported)
            self._update_recent(clip_id, _sealed_as(entry))
        if done:
            self._state.pending = list(self.queue.pending)
            self._state.save(self.state_path)

    def _sealed_before(self, order_id: str) -> str | None:
        found = self.store.clips_of_order(order_id)
        return found[0].clip_id if found else None


def _sealed_as(entry: Clip) -> Callable[[ClipSummary], ClipSummary]:
    return lambda c: replace(
        c,
        state=entry.status,
        tracking_ids=entry.tracking_ids,
        repeat_of=entry.repeat_of,
        footage_ms=entry.end_ms - entry.start_ms,
    )
