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
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Literal, TypeAlias, cast

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
    SourceLostEvent,
    Tick,
)
from recorder.copyrun import CopyRun, ScanGeometry, copy_codec
from recorder.encoder import ffmpeg_path, to_i420
from recorder.holding import HoldPolicy
from recorder.ipcam import IpCameraSource
from recorder.overlay import Overlay, OverlayState
from recorder.run import META_FILE, Run
from recorder.scanner import Classifier, FrameMotion, LatestFrame, Reads, Scanner
from recorder.sealer import Sealer
from recorder.sealqueue import SealQueue
from recorder.settings import CameraSettings, StationSettings
from recorder.sources import Frame, FrameSource, Image, footage_source
from recorder.state import StationState
from recorder.status import ClipSummary, Counters, StationAlarmKind, StationStatus, run_stats
from recorder.substream import ScanStream
from storage import DiskFullError, Ed25519Signer, Store
from storage.entries import Clip, Scan, Segment, Video, parse_as
from storage.redact import redact
from storage.zones import local_zone

_STOP = object()  # writer: finish the run and exit
_END_RUN = object()  # writer: finish the current run (the source was lost)
# What the main loop's queue carries: the scanner's scans and motion readings, gun and web
# scans (Station.submit), and the controller's events from the capture thread.
StationInput: TypeAlias = Scan | FrameMotion | Event


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
        views = settings.views
        if len(views) > 1:
            raise SourceError(
                f"station.cameras: {len(views)} views configured; this station records one",
                hint="list one camera under station.cameras (two views are being built: issue 12)",
            )
        self.camera = views[0].camera
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
        self.copy = _copy_source(self.camera, source)
        codec = "h264" if self.copy is None else copy_codec(self.copy.codec) or "h264"
        # copy mode scanning the camera's sub-stream: its scan frames' size
        self._sub_scan = (
            None
            if self.copy is None or self.camera.scan_url is None
            else _sub_stream_scan(self.camera, source.width, source.height, settings.scan.rate_hz)
        )
        self.video = Video(
            codec=codec,
            width=source.width,
            height=source.height,
            fps_num=self.fps.numerator,
            fps_den=self.fps.denominator,
            pix_fmt="yuv420p",
            segment_ms=settings.encoder.segment_seconds * 1000,
            encoder=(
                f"copy (the camera's {_CODEC_NAMES[codec]} as sent)"
                if self.copy is not None
                else f"libx264 {settings.encoder.preset} crf={settings.encoder.crf}"
            ),
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
        self.events: queue.Queue[StationInput] = queue.Queue()
        self.slot = LatestFrame()
        self.scanner = Scanner(settings.scan, self.slot, self.events, clock)
        self.overlay = Overlay(source.width, source.height, zone)
        self._overlay_state = OverlayState(settings.id, settings.operator)
        self._frames: queue.Queue[object] = queue.Queue(maxsize=max(8, int(self.fps * 2)))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.queue = SealQueue(
            self.sealer,
            HoldPolicy.of(settings),
            self.video,
            pre_roll_ms=round(clips.pre_roll_seconds * 1000),
            post_roll_ms=round(clips.post_roll_seconds * 1000),
        )
        self.queue.source_of = lambda: footage_source(self.source)
        # Why footage is missing before the writer's next run; the writer's alone (each
        # run is started with its own reason), set before the threads start.
        self._gap_reason = "restart"
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
        self._segment_closed_at: int | None = None
        self.latest_frame: Frame | None = None

    # -- public ------------------------------------------------------------------------

    def run(self) -> None:
        """Record until :meth:`stop`, the end of the source, or ``for_ms`` of footage."""
        self.recover()
        self._state.running = True
        self._state.save(self.state_path)
        if self.copy is not None:
            self.source.close()  # ffmpeg connects itself: one connection to the camera
        threads = [
            threading.Thread(
                target=self._capture if self.copy is None else self._capture_copy,
                name="packseal-capture",
                daemon=True,
            ),
            threading.Thread(
                target=self._writer if self.copy is None else self._frames.get,
                name="packseal-writer",
                daemon=True,
            ),
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
            for r in self.queue.runs:
                r.kill()
            self.source.close()
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
            elif self._stop.is_set() and not self.queue.runs:
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
        self._gap_reason = "crash" if crashed else "restart"
        for directory in sorted(p for p in self.workdir.iterdir() if p.is_dir()):
            try:
                run_id = Run.run_id_of(directory)
            except (OSError, ValueError, KeyError):
                continue  # not a run directory: leave it alone
            sealed = self._segments_of_run(run_id)
            done = frozenset(s.index for s in sealed)
            run: Run | CopyRun
            if json.loads((directory / META_FILE).read_text()).get("mode") == "copy":
                run = CopyRun.recover(directory, done, self._gap_reason)
            else:
                run = Run.recover(directory, done, self._gap_reason)
            self._sealed_segments(self.queue.recover(run, sealed, self.clock.now_ms()))
        self.queue.pending.extend(previous.pending)
        if previous.open is not None:
            clip, open_run = previous.open
            ended = self.queue.last_end(open_run) or clip.started
            closed = ClipClosed(clip, max(ended, clip.started), "crash", "interrupted")
            self.queue.pending.append(self.queue.plan(closed, open_run))
        self._seal_ready_clips(final=True)
        self.queue.end_recovery()
        self._state = StationState(running=False, open=None, pending=list(self.queue.pending))

    def _segments_of_run(self, run_id: str) -> list[Segment]:
        rows = self.store.segments_of_run(run_id)
        return [parse_as(Segment, self.store.entry(r.idx)) for r in rows]

    # -- threads -----------------------------------------------------------------------

    def _capture(self) -> None:
        interval = 1000 / float(self.fps)
        last_index = -1
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
                    # Late by its time, or a jump in the source's own frame count (an IP
                    # camera's timestamps can show a hole its arrival times hide: frames
                    # the camera lost just before a burst of buffered ones).
                    by_time = round((frame.t_ms - self._last_frame_t) / interval) - 1
                    by_index = frame.index - last_index - 1
                    dropped = max(0, by_time, by_index)
                self._last_frame_t = frame.t_ms
                last_index = frame.index
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

    def _capture_copy(self) -> None:
        """Stream-copy mode: ffmpeg records; this thread takes its scan frames (from the
        copy run, or from the sub-stream's own ffmpeg), and starts a new run (after
        ``reconnect_seconds``) whenever the camera goes away (recorder/substream.py says
        what losing only one of the two streams does)."""
        assert self.copy is not None
        cam = self.camera
        run: CopyRun | None = None
        sub: ScanStream | None = None
        sub_retry = 0.0  # monotonic time of the next sub-stream attempt
        sub_alarmed = False  # the sub-stream's outage is on the screen already
        index = 0
        try:
            while not self._stop.is_set():
                if run is None:
                    run = self._start_copy_run(self.copy)
                got: tuple[Image, int] | None = None
                if self._sub_scan is None:
                    got = run.read_frame(self.clock)
                elif sub is None and run.alive:
                    # scanning starts once the main stream sends: no scan without footage
                    if not run.started_ms or time.monotonic() < sub_retry:
                        self._stop.wait(0.05)
                        continue
                    sub = self._start_scan_stream(run)
                    continue
                elif sub is not None:
                    got = sub.read_frame(self.clock)
                    if got is None and run.alive:
                        # the sub-stream alone is gone (or never came): the footage goes
                        # on, scanning stops; one alarm per outage
                        sub.finish()
                        if sub.started_ms or not sub_alarmed:
                            why = (
                                f"ended or stalled (no data for {cam.stall_seconds:g} s)"
                                if sub.started_ms
                                else "no frame (unreachable, refused, wrong path or credentials)"
                            )
                            self._raise_alarm(
                                "scan-lost",
                                f"scan stream lost: {redact(cam.scan_url or '')}: {why}; "
                                "the main stream records on",
                            )
                            sub_alarmed = True
                        sub, sub_retry = None, time.monotonic() + cam.reconnect_seconds
                        continue
                    if got is not None:
                        sub_alarmed = False
                if got is None or (sub is not None and not run.alive):
                    # the main stream's ffmpeg ended: the camera refused, dropped or
                    # stalled; its sub-stream goes with it (no scan without footage)
                    if sub is not None:
                        sub.finish()
                        sub, sub_retry, sub_alarmed = None, 0.0, False
                    run.finish()
                    if self._stop.is_set():
                        break
                    if run.started_ms:
                        self._gap_reason = "camera-lost"
                        self.events.put(
                            SourceLostEvent(
                                self._last_frame_t or self.clock.now_ms(),
                                f"IP camera {self.copy.name}: stream ended or stalled "
                                f"(no data for {cam.stall_seconds:g} s)",
                            )
                        )
                    run = None
                    self._stop.wait(cam.reconnect_seconds)
                    continue
                image, t_ms = got
                frame = Frame(image, t_ms, index)
                index += 1
                if self._first_frame_t is None:
                    self._first_frame_t = t_ms
                if self.for_ms is not None and t_ms - self._first_frame_t >= self.for_ms:
                    break
                self._last_frame_t = t_ms
                self.latest_frame = frame
                with self._lock:
                    self._counters.captured += 1
                    self._fps_window.append(time.monotonic())
                self.slot.put(frame)
        except BaseException as e:  # reported to the main loop, never lost
            self._thread_error = e
        finally:
            if sub is not None:
                sub.finish()
            if run is not None:
                run.finish()
            self.events.put(Shutdown(self._last_frame_t or self.clock.now_ms()))
            self._frames.put(_STOP)

    def _start_copy_run(self, camera: IpCameraSource) -> CopyRun:
        cam = self.camera
        first_t = self.clock.now_ms()
        run = CopyRun.start(
            f"{first_t}-{os.urandom(3).hex()}",
            self.workdir,
            camera.url,
            fps=self.fps,
            ffmpeg=self.ffmpeg,
            segment_seconds=self.settings.encoder.segment_seconds,
            scan=None
            if self._sub_scan is not None
            else ScanGeometry.of(
                camera.width, camera.height, cam.scan_width, self.settings.scan.rate_hz
            ),
            transport=cam.rtsp_transport,
            stall_seconds=cam.stall_seconds,
            gap_reason=self._gap_reason,
            codec=self.video.codec,
            clock=self.clock,
        )
        run.on_dropped = self._count_dropped
        run.watch(self.clock)
        with self._lock:
            self.queue.add_run(run)
        return run

    def _start_scan_stream(self, run: CopyRun) -> ScanStream:
        cam = self.camera
        assert cam.scan_url is not None
        assert self._sub_scan is not None
        return ScanStream.start(
            cam.scan_url,
            ffmpeg=self.ffmpeg,
            scan=self._sub_scan,
            transport=cam.rtsp_transport,
            stall_seconds=cam.stall_seconds,
            log_path=run.dir / SCAN_LOG_NAME,
        )

    def _count_dropped(self, frames: int) -> None:
        with self._lock:
            self._counters.dropped += frames

    def _reconnect(self) -> bool:
        delay = self.camera.reconnect_seconds
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
                        self._gap_reason = "camera-lost"
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
                    self._gap_reason = "encoder-died"
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
            gap_reason=self._gap_reason,
        )
        with self._lock:
            self.queue.add_run(run)
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
                self._drain_after_fatal(threads)
                return
            if self._thread_error is not None:
                self._fatal = self._thread_error
                self._stop.set()
                self._drain_after_fatal(threads)
                return
            writer_done = not threads[1].is_alive()
            if shutdown_seen and writer_done and self.events.empty():
                self._seal_closed(final=True)
                self._seal_ready_clips(final=True)
                if self.queue.drained():
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

    def _handle(self, item: StationInput) -> None:
        event: Event
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

    def _apply(self, action: object) -> None:
        if isinstance(action, ClipOpened):
            clip = action.clip
            self._open_run = self.queue.current_run
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
        sealed = self.queue.seal_closed(
            now_ms=self.clock.now_ms(),
            footage_ms=self._last_frame_t or 0,
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
        done = self.queue.seal_ready(final=final)
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


def _copy_source(camera: CameraSettings, source: FrameSource) -> IpCameraSource | None:
    """The camera stream-copy mode records, or None in encode mode."""
    if camera.mode != "copy":
        return None
    if not isinstance(source, IpCameraSource) or not source.is_rtsp:
        raise SourceError(
            "station.camera.mode copy: expected an rtsp:// camera, found another source",
            hint="stream copy stores an IP camera's H.264 or H.265 as sent; other sources "
            "need station.camera.mode: encode",
        )
    if copy_codec(source.codec) is None:
        raise SourceError(
            f"IP camera {source.name}: stream copy needs H.264 or H.265, found "
            f"{source.codec or 'unknown'}",
            hint="set the camera's main stream to H.264 or H.265, or station.camera.mode: encode",
        )
    return source


_CODEC_NAMES = {"h264": "H.264", "hevc": "H.265"}
SCAN_LOG_NAME = "scan-ffmpeg.log"
SUB_SCAN_WIDTH = 640  # a sub-stream's usual width; codes the demo reads at 640x360 read here


def _sub_stream_scan(cam: CameraSettings, width: int, height: int, rate_hz: float) -> ScanGeometry:
    """The scan frames' size with a sub-stream (station.camera.scan_url): ``scan_width``
    (default 640) at the main stream's aspect ratio, whatever the sub-stream's own size (a
    D1 704x576 sub-stream of a 16:9 camera is anamorphic: this undoes it). Nothing is
    opened here, so a station whose sub-stream is down still starts and records."""
    return ScanGeometry.of(width, height, cam.scan_width or SUB_SCAN_WIDTH, rate_hz)


def _sealed_as(entry: Clip) -> Callable[[ClipSummary], ClipSummary]:
    return lambda c: replace(
        c,
        state=entry.status,
        tracking_ids=entry.tracking_ids,
        repeat_of=entry.repeat_of,
        footage_ms=entry.end_ms - entry.start_ms,
    )
