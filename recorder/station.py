"""The station: capture -> overlay -> encoder, scanner -> controller, sealer, all at once.

Threads (data flows one way; only the main loop writes to the store)::

    capture  source.read() -> frame queue (bounded; a late writer drops, counted)
             `-> newest frame -> scanner (<= rate_hz) -> events
    writer   frame queue -> overlay -> I420 -> ffmpeg (one Run per encoder process)
    main     events -> controller -> clip plans; closed segments -> sealer; checkpoints

A run ends when the camera is lost, the encoder dies, or the station stops; the next
run starts with the next frame. Whatever footage is missing between two runs is logged
as a ``gap`` entry when the first segment of the next run is sealed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections import deque
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Literal, cast

from recorder._errors import EncoderError, SourceError, SourceLost
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
    EncoderDied,
    Event,
    Motion,
    ScanEvent,
    Shutdown,
    Tick,
)
from recorder.controller import SourceLost as SourceLostEvent
from recorder.encoder import ClosedSegment, ffmpeg_path, to_i420
from recorder.overlay import Overlay, OverlayState
from recorder.run import Run, SegmentTiming
from recorder.scanner import Classifier, LatestFrame, Reads, Scanner
from recorder.scanner import Motion as ScanMotion
from recorder.sealer import ClipPlan, Sealer, select_segments
from recorder.settings import StationSettings
from recorder.sources import Frame, FrameSource
from recorder.state import StationState
from recorder.status import ClipSummary, Counters, StationAlarmKind, StationStatus, run_stats
from storage import DiskFullError, Ed25519Signer, Store
from storage.entries import Clip, Scan, Segment, Video
from storage.zones import local_zone

_STOP = object()  # writer: finish the run and exit
_END_RUN = object()  # writer: finish the current run (the source was lost)
_GAP_TOLERANCE_MS = 250


class Station:
    def __init__(
        self,
        settings: StationSettings,
        store: Store,
        signer: Ed25519Signer,
        source: FrameSource,
        *,
        clock: Clock,
        workdir: Path,
        realtime: bool = True,
        for_ms: int | None = None,
        anchorer: Anchorer | None = None,
    ) -> None:
        self.settings = settings
        # Time-stamps and witness cosignatures: polled by the main loop, network on its
        # own thread (recorder/anchor.py), so anchoring never delays capture or sealing.
        self.anchorer = anchorer
        self.store = store
        self.source = source
        self.clock = clock
        self.workdir = workdir
        self.realtime = realtime
        self.for_ms = for_ms
        workdir.mkdir(parents=True, exist_ok=True)
        self.state_path = workdir / "station-state.json"
        self.ffmpeg = ffmpeg_path(settings.encoder)
        self.fps = Fraction(source.fps)
        self.video = Video(
            codec="h264",
            width=source.width,
            height=source.height,
            fps_num=self.fps.numerator,
            fps_den=self.fps.denominator,
            pix_fmt="yuv420p",
            segment_ms=settings.encoder.segment_seconds * 1000,
            encoder=f"libx264 {settings.encoder.preset} crf={settings.encoder.crf}",
        )
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
        self.events: queue.Queue[object] = queue.Queue()
        self.slot = LatestFrame()
        self.scanner = Scanner(settings.scan, self.slot, self.events, clock)  # type: ignore[arg-type]
        self.overlay = Overlay(source.width, source.height, zone)
        self._overlay_state = OverlayState(settings.id, settings.operator)
        self._frames: queue.Queue[object] = queue.Queue(maxsize=max(8, int(self.fps * 2)))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._runs: deque[Run] = deque()  # oldest first; sealed strictly in order
        self._run_segments: dict[str, list[Segment]] = {}
        self._current_run: str | None = None
        self._next_gap_reason = "restart"
        self._pending: list[ClipPlan] = []
        self._open_run: str | None = None
        self._state = StationState()
        self._counters = Counters()
        self._recent: deque[ClipSummary] = deque(maxlen=10)
        self._alarms: deque[tuple[StationAlarmKind, str]] = deque(maxlen=5)
        self._last_scan: Scan | None = None
        self._last_frame_t: int | None = None
        self._first_frame_t: int | None = None
        self._fps_window: deque[float] = deque(maxlen=60)
        self._thread_error: BaseException | None = None
        self._fatal: BaseException | None = None
        self._started = False
        self._recovering = False
        self.orders_only = settings.clips.record == "orders-only"
        self._pre_roll_ms = round(settings.clips.pre_roll_seconds * 1000)
        # How long an unwanted segment may wait for a late order scan to claim it.
        self._hold_ms = (
            self._pre_roll_ms
            + settings.scan.confirm_window_ms
            + 2 * settings.encoder.segment_seconds * 1000
        )
        self._segment_closed_at: int | None = None
        self._held: deque[tuple[Run, ClosedSegment, SegmentTiming, int]] = deque()
        self.latest_frame: Frame | None = None

    # -- public ------------------------------------------------------------------------

    def run(self) -> None:
        """Record until :meth:`stop`, the end of the source, or ``for_ms`` of footage."""
        self.recover()
        self._state.running = True
        self._state.save(self.state_path)
        threads = [
            threading.Thread(target=self._capture, name="packseal-capture", daemon=True),
            threading.Thread(target=self._writer, name="packseal-writer", daemon=True),
        ]
        if self.realtime:
            self.scanner.start()
        for t in threads:
            t.start()
        self._started = True
        try:
            self._main_loop(threads)
            if self.anchorer is not None and self._fatal is None:
                # The last checkpoint is signed at shutdown: give the TSAs and witnesses
                # a bounded moment for it. Recording has stopped; nothing waits on this.
                self.anchorer.drain(self.anchorer.settings.drain_seconds)
        finally:
            if self.anchorer is not None:
                self.anchorer.close()
            self._stop.set()
            self.scanner.stop()
            for t in threads:
                t.join(timeout=30)
            for r in self._runs:
                r.kill()
            self.source.close()
            if self._fatal is None:
                self._state.running = False
            self._state.save(self.state_path)
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        self._stop.set()

    def submit(self, text: str, source: Literal["gun", "web"] = "web") -> Scan | None:
        """A code typed by a scanner gun or on the station page: it counts at once."""
        from recorder.gun import gun_scan

        scan = gun_scan(text, self.clock.now_ms(), self.classifier, source)
        if scan is not None:
            self.events.put(scan)
        return scan

    def last_reads(self) -> Reads:
        return self.scanner.last_reads()

    def status(self) -> StationStatus:
        with self._lock:
            clip = self.controller.current
            c = self._counters
            alarms = tuple(message for _, message in self._alarms)
            alarm_kinds = tuple(kind for kind, _ in self._alarms)
            fps = 0.0
            if len(self._fps_window) > 1:
                span = self._fps_window[-1] - self._fps_window[0]
                fps = (len(self._fps_window) - 1) / span if span > 0 else 0.0
            if not self._started:
                state: Literal["starting", "idle", "recording", "alarm", "stopped"] = "starting"
            elif self._stop.is_set() and not self._runs:
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
                frames_captured=c.captured,
                frames_encoded=c.encoded,
                frames_dropped=c.dropped,
                fps=round(fps, 1),
                segments_sealed=c.segments,
                clips_opened=c.clips_opened,
                clips_sealed=c.clips_sealed,
                alarm_count=c.alarms,
                log_size=self.sealer.next_seq,
            )

    def clear_alarms(self) -> None:
        with self._lock:
            self._alarms.clear()
        self._overlay_state = replace(self._overlay_state, alarm=None)

    def stats(self) -> dict[str, object]:
        """What ``--stats-json`` writes at exit."""
        footage = (self._last_frame_t or 0) - (self._first_frame_t or 0)
        return run_stats(self._counters, self.scanner.stats(), footage)

    # -- recovery ----------------------------------------------------------------------

    def recover(self) -> None:
        """Seal what a previous crash left: closed segments, pending and open clips."""
        previous = StationState.load(self.state_path)
        crashed = previous.running
        self._recovering = True
        for directory in sorted(p for p in self.workdir.iterdir() if p.is_dir()):
            try:
                run_id = Run.run_id_of(directory)
            except (OSError, ValueError, KeyError):
                continue  # not a run directory: leave it alone
            sealed = self._segments_of_run(run_id)
            run = Run.recover(directory, frozenset(s.index for s in sealed))
            if sealed:
                run.init_sha = sealed[0].init
                run.sealed_segments = len(sealed)
            self._runs.append(run)
            self._run_segments[run.id] = sealed
            self._next_gap_reason = "crash" if crashed else "restart"
            self._seal_closed_segments()
        for plan in previous.pending:
            self._pending.append(plan)
        if previous.open is not None:
            clip, open_run = previous.open
            segs = self._run_segments.get(open_run or "", [])
            ended = segs[-1].end if segs else clip.started
            self._pending.append(
                self._plan(
                    ClipClosed(clip, max(ended, clip.started), "crash", "interrupted"), open_run
                )
            )
        self._seal_ready_clips(final=True)
        self._recovering = False
        for run_id in list(self._run_segments):
            self._trim_segments(run_id)
        if crashed:
            self._next_gap_reason = "crash"
        self._state = StationState(running=False, open=None, pending=list(self._pending))

    def _segments_of_run(self, run_id: str) -> list[Segment]:
        from storage.entries import parse_as

        rows = self.store.segments_of_run(run_id)
        return [parse_as(Segment, self.store.entry(r.idx)) for r in rows]

    # -- threads -----------------------------------------------------------------------

    def _capture(self) -> None:
        interval = 1000 / float(self.fps)
        next_scan_t: float | None = None
        scan_period = 1000 / self.settings.scan.rate_hz
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except SourceLost as e:
                    self.events.put(
                        SourceLostEvent(self._last_frame_t or self.clock.now_ms(), str(e))
                    )
                    self._frames.put(_END_RUN)
                    if not self._reconnect():
                        break
                    continue
                if frame is None:
                    break
                if self._first_frame_t is None:
                    self._first_frame_t = frame.t_ms
                if self.for_ms is not None and frame.t_ms - self._first_frame_t >= self.for_ms:
                    break
                dropped = 0
                if self._last_frame_t is not None:
                    dropped = max(0, round((frame.t_ms - self._last_frame_t) / interval) - 1)
                self._last_frame_t = frame.t_ms
                self.latest_frame = frame
                with self._lock:
                    self._counters.captured += 1
                    self._fps_window.append(time.monotonic())
                if self.realtime:
                    self.slot.put(frame)
                    try:
                        self._frames.put_nowait((frame, dropped))
                    except queue.Full:
                        with self._lock:
                            self._counters.dropped += 1  # the writer fell behind: a real drop
                else:
                    if next_scan_t is None or frame.t_ms >= next_scan_t:
                        # Fast mode scans by source time, so a file gives the same scans
                        # however fast the machine is.
                        next_scan_t = frame.t_ms + scan_period
                        self.scanner.process(frame)
                    self._frames.put((frame, dropped))
                if dropped:
                    with self._lock:
                        self._counters.dropped += dropped
        except BaseException as e:  # reported to the main loop, never lost
            self._thread_error = e
        finally:
            self.events.put(Shutdown(self._last_frame_t or self.clock.now_ms()))
            self._frames.put(_STOP)

    def _reconnect(self) -> bool:
        delay = self.settings.camera.reconnect_seconds
        while not self._stop.is_set():
            self.clock.sleep(delay)
            try:
                self.source.reopen()
            except SourceError:
                continue  # still gone; the alarm was raised when it was lost
            return True
        return False

    def _writer(self) -> None:
        run: Run | None = None
        backoff_until = 0.0
        try:
            while True:
                item = self._frames.get()
                if item is _STOP:
                    break
                if item is _END_RUN:
                    if run is not None:
                        run.finish()
                        run = None
                        self._next_gap_reason = "camera-lost"
                    continue
                frame, dropped = cast(tuple[Frame, int], item)
                if run is None:
                    if self.clock.monotonic() < backoff_until:
                        continue
                    run = self._start_run(frame.t_ms)
                image = frame.image.copy()
                self.overlay.draw(image, self._overlay_state, frame.t_ms, frame.index)
                try:
                    run.write(frame.t_ms, dropped, to_i420(image))
                except EncoderError as e:
                    self.events.put(EncoderDied(frame.t_ms, e.message))
                    run.kill()
                    run = None
                    self._next_gap_reason = "encoder-died"
                    backoff_until = self.clock.monotonic() + 1.0
                    continue
                with self._lock:
                    self._counters.encoded += 1
        except BaseException as e:  # reported to the main loop, never lost
            self._thread_error = e
        finally:
            if run is not None:
                run.finish()

    def _start_run(self, first_t: int) -> Run:
        run_id = f"{first_t}-{os.urandom(3).hex()}"
        run = Run.start(
            run_id,
            self.workdir,
            self.settings.encoder,
            width=self.source.width,
            height=self.source.height,
            fps=self.fps,
            ffmpeg=self.ffmpeg,
            started_ms=first_t,
        )
        with self._lock:
            self._runs.append(run)
            self._run_segments[run.id] = []
            self._current_run = run.id
        return run

    # -- the main loop -------------------------------------------------------------------

    def _main_loop(self, threads: list[threading.Thread]) -> None:
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
                    shutdown_seen |= isinstance(item, Shutdown)
                    self._handle(item)
                if self._last_frame_t is not None:
                    self._handle(Tick(self._last_frame_t))
                self._seal_closed_segments()
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
                self._drain_after_fatal(threads)
                return
            if self._thread_error is not None:
                self._fatal = self._thread_error
                self._stop.set()
                self._drain_after_fatal(threads)
                return
            writer_done = not threads[1].is_alive()
            if shutdown_seen and writer_done and self.events.empty():
                self._seal_closed_segments(final=True)
                self._seal_ready_clips(final=True)
                if not self._pending and all(r.drained() for r in self._runs):
                    self.sealer.checkpoint()
                    return

    def _drain_after_fatal(self, threads: list[threading.Thread]) -> None:
        """Stop recording but keep what is sealed; log the open clip as interrupted."""
        for t in threads:
            t.join(timeout=30)
        with contextlib.suppress(Exception):
            self._handle(
                SourceLostEvent(self._last_frame_t or self.clock.now_ms(), "recording stopped")
            )
            self._seal_ready_clips(final=True)

    def _handle(self, item: object) -> None:
        event: Event
        if isinstance(item, Scan):
            with self._lock:
                self._counters.scans += 1
                self._last_scan = item
            event = ScanEvent(item)
        elif isinstance(item, ScanMotion):
            event = Motion(item.t_ms, item.level)
        else:
            event = item  # type: ignore[assignment]
        for action in self.controller.handle(event):
            self._apply(action)

    def _apply(self, action: object) -> None:
        if isinstance(action, ClipOpened):
            clip = action.clip
            self._open_run = self._current_run
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
            plan = self._plan(action, self._open_run)
            self._pending.append(plan)
            self._update_recent(
                action.clip.clip_id,
                state="sealing",
                ended=action.ended,
                end_reason=action.end_reason,
            )
            self._overlay_state = replace(self._overlay_state, order_id=None, tracking_id=None)
            self._state.open = None
            self._state.pending = list(self._pending)
            self._state.save(self.state_path)
        elif isinstance(action, Alarm):
            self._raise_alarm(action.kind, action.message)
        elif isinstance(action, AlarmsAcknowledged):
            self.clear_alarms()

    def _raise_alarm(self, kind: StationAlarmKind, message: str) -> None:
        with self._lock:
            self._counters.alarms += 1
            self._alarms.append((kind, message))
        self._overlay_state = replace(self._overlay_state, alarm=message[:60])

    def _plan(self, closed: ClipClosed, run: str | None) -> ClipPlan:
        pre = round(self.settings.clips.pre_roll_seconds * 1000)
        post = round(self.settings.clips.post_roll_seconds * 1000)
        return ClipPlan(
            closed=closed,
            run=run or self._current_run or "",
            start_at=closed.clip.started - pre,
            end_at=closed.ended + post,
            pre_roll=pre,
            post_roll=post,
        )

    def _update_recent(self, clip_id: str, **changes: object) -> None:
        with self._lock:
            for i, item in enumerate(self._recent):
                if item.clip_id == clip_id:
                    self._recent[i] = replace(item, **changes)  # type: ignore[arg-type]

    # -- sealing -----------------------------------------------------------------------

    def _seal_closed_segments(self, *, final: bool = False) -> None:
        while self._runs:
            run = self._runs[0]
            for seg, timing in run.closed_segments():
                self._held.append((run, seg, timing, self.clock.now_ms()))
            self._settle_held(final=final or run.drained())
            if not run.drained() or any(h[0] is run for h in self._held):
                return
            self._runs.popleft()
            with contextlib.suppress(OSError):
                run.remove()
            self._trim_segments(run.id)

    def _settle_held(self, *, final: bool) -> None:
        """Seal closed segments in order; in orders-only mode, drop those no clip wants.

        A dropped segment is one nobody will ever ask for: older than every open or
        pending clip's pre-roll, and either past the window in which a late scan could
        still claim it, or followed by one that is wanted.
        """
        horizon = (self._last_frame_t or 0) - self._hold_ms
        while self._held:
            run, seg, timing, reported = self._held[0]
            if self._wanted(timing.start_ms, timing.end_ms):
                self._held.popleft()
                self._seal(run, seg, timing, reported)
                continue
            later_wanted = any(self._wanted(t.start_ms, t.end_ms) for _, _, t, _ in self._held)
            if final or timing.end_ms < horizon or later_wanted:
                self._held.popleft()
                seg.path.unlink(missing_ok=True)
                continue
            return

    def _wanted(self, start: int, end: int) -> bool:
        if not self.orders_only:
            return True
        clip = self.controller.current
        if clip is not None and end > clip.started - self._pre_roll_ms:
            return True
        return any(p.start_at < end and start < p.end_at for p in self._pending)

    def _seal(self, run: Run, seg: ClosedSegment, timing: SegmentTiming, reported: int) -> None:
        if run.init_sha is None:
            run.init_sha = self.sealer.seal_init(run.init_path)
        last_end = self.sealer.last_segment_end
        if last_end is not None and timing.start_ms - last_end > _GAP_TOLERANCE_MS:
            first_of_run = run.sealed_segments == 0
            reason = self._next_gap_reason if first_of_run else "not-recording"
            self.sealer.log_gap(
                last_end, timing.start_ms, reason, f"before segment {seg.index} of run {run.id}"
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
        )
        self._run_segments[run.id].append(entry)
        self._segment_closed_at = reported
        with self._lock:
            self._counters.segments += 1
        seg.path.unlink(missing_ok=True)
        run.release()

    def _trim_segments(self, run_id: str) -> None:
        if self._recovering:
            return  # the crashed station's open clip is planned only after its runs are sealed
        if not any(p.run == run_id for p in self._pending) and run_id != self._current_run:
            self._run_segments.pop(run_id, None)

    def _seal_ready_clips(self, *, final: bool) -> None:
        still: list[ClipPlan] = []
        for plan in self._pending:
            segs = self._run_segments.get(plan.run, [])
            run_open = any(r.id == plan.run for r in self._runs)
            ready = final or not run_open or (segs and segs[-1].end >= plan.end_at)
            if not ready:
                still.append(plan)
                continue
            chosen = select_segments(segs, plan.start_at, plan.end_at)
            clip_id = plan.closed.clip.clip_id
            if not chosen:
                self.sealer.log_gap(
                    plan.closed.clip.started,
                    plan.closed.ended,
                    "encoder-died" if plan.closed.status == "interrupted" else "crash",
                    f"order {plan.closed.clip.order_id}: no footage was sealed for clip {clip_id}",
                )
                self._update_recent(clip_id, state="lost")
                self._raise_alarm(
                    "no-footage", f"order {plan.closed.clip.order_id}: no footage sealed"
                )
                continue
            entry: Clip = self.sealer.seal_clip(plan, chosen, self.video)
            with self._lock:
                self._counters.clips_sealed += 1
                now = self.clock.now_ms()
                if self.realtime:
                    self._counters.close_to_sealed_ms.append(now - plan.closed.ended)
                    last_reported = self._segment_closed_at
                    if last_reported is not None:
                        self._counters.segment_to_sealed_ms.append(now - last_reported)
            self._update_recent(
                clip_id,
                state=entry.status,
                tracking_ids=entry.tracking_ids,
                repeat_of=entry.repeat_of,
                footage_ms=entry.end_ms - entry.start_ms,
            )
        if len(still) != len(self._pending):
            self._pending = still
            self._state.pending = list(still)
            self._state.save(self.state_path)

    def _sealed_before(self, order_id: str) -> str | None:
        found = self.store.clips_of_order(order_id)
        return found[0].clip_id if found else None
