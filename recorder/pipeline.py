"""One view's capture pipeline: its camera, its runs, its timeline, drops and gaps.

A station holds one pipeline per view (``station.camera``: one; ``station.cameras``: up
to two) under one controller. Each pipeline owns, for its view only::

    capture  source.read() -> frame queue (bounded; a late writer drops, counted)
             `-> newest frame -> its scanner, if the view scans (<= rate_hz)
    writer   frame queue -> overlay -> I420 -> ffmpeg (one Run per encoder process)
    or, in stream-copy mode or webcam capture (recorder/webcam.py), one CopyRun whose
    ffmpeg reads the camera itself (and, capturing, burns in the caption)
    seal queue  its closed segments -> sealer (segment entries of this view; its gaps)

and reports to the station's main loop through its event queue: scans and motion, and
the loss of its camera. The primary view's loss (or the end of its source) is the
controller's event, as for one camera: the open clip is interrupted (or shut down). A
further view's loss is an alarm and a gap of that view alone: the clip goes on.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import cast

from recorder._errors import EncoderError, SourceError, SourceLost
from recorder.clock import Clock
from recorder.controller import EncoderDied, Shutdown, SourceLostEvent
from recorder.copyrun import CopyRun, ScanGeometry, copy_codec
from recorder.copysource import CODEC_NAMES, SCAN_LOG_NAME, copy_source, sub_stream_scan
from recorder.drawcaption import CaptionFiles
from recorder.encoder import to_i420
from recorder.holding import HoldPolicy
from recorder.ipcam import IpCameraSource
from recorder.overlay import Overlay, OverlayState
from recorder.run import Run
from recorder.scanner import LatestFrame, Scanner
from recorder.sealer import ClipPlan, Sealer
from recorder.sealqueue import SealQueue
from recorder.settings import CameraSettings, StationSettings, View
from recorder.sources import Frame, FrameSource, Image, footage_source
from recorder.status import ViewStatus
from recorder.substream import ScanStream
from recorder.viewevents import Outbox, ViewAlarm, ViewSink
from recorder.webcam import WebcamRun, check_capture_ffmpeg, webcam_source
from storage.entries import Video
from storage.redact import redact
from storage.zones import local_zone

__all__ = ["Pipeline"]

_STOP = object()  # writer: finish the run and exit
_END_RUN = object()  # writer: finish the current run (the source was lost)


class Pipeline:
    """One view's capture -> encoder (or stream copy) -> seal queue."""

    def __init__(
        self,
        view: View,
        source: FrameSource,
        settings: StationSettings,
        *,
        primary: bool,
        sealer: Sealer,
        clock: Clock,
        workdir: Path,
        ffmpeg: str,
        events: Outbox,
        stop: threading.Event,
        overlay_state: Callable[[], OverlayState],
        realtime: bool,
        for_ms: int | None,
        pending: list[ClipPlan] | None = None,
    ) -> None:
        self.view = view
        self.name = view.name  # None: the one camera of station.camera
        self.camera: CameraSettings = view.camera
        self.primary = primary
        self.source = source
        self.settings = settings
        self.clock = clock
        # The primary view's runs live in the station's work directory, as with one camera
        # (a crashed one-camera station's runs are found where they were); a further view's
        # in a directory of its own.
        self.workdir = workdir if primary else workdir / f"view-{view.name}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ffmpeg = ffmpeg
        self.events = events
        self._stop = stop
        self._overlay_state = overlay_state
        self.realtime = realtime
        self.for_ms = for_ms
        self.fps = Fraction(source.fps)
        self.copy = copy_source(self.camera, source)
        # Webcam capture: ffmpeg reads the camera and draws the caption from these files.
        self.webcam = webcam_source(self.camera, source)
        if self.webcam is not None:
            check_capture_ffmpeg(ffmpeg)
        self._caption = None if self.webcam is None else CaptionFiles(self.workdir / "caption")
        codec = "h264" if self.copy is None else copy_codec(self.copy.codec) or "h264"
        # copy mode scanning the camera's sub-stream: its scan frames' size
        self._sub_scan = (
            None
            if self.copy is None or self.camera.scan_url is None
            else sub_stream_scan(self.camera, source.width, source.height, settings.scan.rate_hz)
        )
        encoder = settings.encoder
        self.video = Video(
            codec=codec,
            width=source.width,
            height=source.height,
            fps_num=self.fps.numerator,
            fps_den=self.fps.denominator,
            pix_fmt="yuv420p",
            segment_ms=encoder.segment_seconds * 1000,
            encoder=(
                f"copy (the camera's {CODEC_NAMES[codec]} as sent)"
                if self.copy is not None
                else f"libx264 {encoder.preset} crf={encoder.crf}"
                # the keyframe picker does not compare such a caption with OpenCV's drawing
                + (", caption by ffmpeg drawtext" if self.webcam is not None else "")
            ),
        )
        self.overlay = Overlay(source.width, source.height, local_zone(settings.timezone))
        self.slot = LatestFrame()
        self.scanner: Scanner | None = None
        if view.scan:
            self.scanner = Scanner(settings.scan, self.slot, ViewSink(events, self.name), clock)
        clips = settings.clips
        self.queue = SealQueue(
            sealer,
            HoldPolicy.of(settings),
            self.video,
            pre_roll_ms=round(clips.pre_roll_seconds * 1000),
            post_roll_ms=round(clips.post_roll_seconds * 1000),
            view=self.name,
            pending=pending,
        )
        self.queue.source_of = lambda: footage_source(self.source)
        self._frames: queue.Queue[object] = queue.Queue(maxsize=max(8, int(self.fps * 2)))
        self._lock = threading.Lock()
        # Why footage is missing before the writer's next run; the writer's alone (each
        # run is started with its own reason), set before the threads start.
        self.gap_reason = "restart"
        self.captured = 0
        self.encoded = 0
        self.dropped = 0
        self.lost: str | None = None  # why its camera is gone now (None: recording)
        self.last_frame_t: int | None = None
        self.first_frame_t: int | None = None
        self.latest_frame: Frame | None = None
        self._fps_window: deque[float] = deque(maxlen=60)
        self.error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        # A further view read as fast as it decodes (--fast) ends where the primary's
        # footage ended, not when the primary's source did (it may be behind or ahead).
        self.end_at_ms: int | None = None

    # -- lifecycle (the station's main thread) -----------------------------------------

    def start(self) -> None:
        by_ffmpeg = self.copy is not None or self.webcam is not None
        if by_ffmpeg:
            self.source.close()  # ffmpeg connects itself: one connection to the camera
        suffix = "" if self.primary else f"-{self.name}"
        self._threads = [
            threading.Thread(
                target=self._capture_copy if by_ffmpeg else self._capture,
                name=f"packseal-capture{suffix}",
                daemon=True,
            ),
            threading.Thread(
                target=self._frames.get if by_ffmpeg else self._writer,
                name=f"packseal-writer{suffix}",
                daemon=True,
            ),
        ]
        if self.realtime and self.scanner is not None:
            self.scanner.start()
        for t in self._threads:
            t.start()

    def writer_done(self) -> bool:
        return bool(self._threads) and not self._threads[1].is_alive()

    def join(self, timeout: float = 30) -> None:
        if self.scanner is not None:
            self.scanner.stop()
        for t in self._threads:
            t.join(timeout=timeout)

    def close(self) -> None:
        for r in self.queue.runs:
            r.kill()
        self.source.close()

    def status(self) -> ViewStatus:
        with self._lock:
            fps = 0.0
            if len(self._fps_window) > 1:
                span = self._fps_window[-1] - self._fps_window[0]
                fps = (len(self._fps_window) - 1) / span if span > 0 else 0.0
            return ViewStatus(
                view=self.name,
                primary=self.primary,
                scans=self.scanner is not None,
                mode="copy" if self.copy is not None else "encode",
                width=self.video.width,
                height=self.video.height,
                lost=self.lost,
                frames_captured=self.captured,
                frames_encoded=self.encoded,
                frames_dropped=self.dropped,
                fps=round(fps, 1),
            )

    # -- what goes wrong ---------------------------------------------------------------

    def _lost(self, t_ms: int, detail: str) -> None:
        with self._lock:
            self.lost = detail
        if self.primary:
            self.events.put(SourceLostEvent(t_ms, detail))
        else:
            self.events.put(
                ViewAlarm(t_ms, "source-lost", f"view {self.name}: camera lost: {detail}")
            )

    def _encoder_died(self, t_ms: int, detail: str) -> None:
        if self.primary:
            self.events.put(EncoderDied(t_ms, detail))
        else:
            self.events.put(
                ViewAlarm(t_ms, "encoder-died", f"view {self.name}: encoder stopped: {detail}")
            )

    def _count_frame(self, frame: Frame) -> None:
        self.last_frame_t = frame.t_ms
        self.latest_frame = frame
        with self._lock:
            self.lost = None
            self.captured += 1
            self._fps_window.append(time.monotonic())

    def _count_dropped(self, frames: int) -> None:
        with self._lock:
            self.dropped += frames

    # -- threads -----------------------------------------------------------------------

    def _capture(self) -> None:
        interval = 1000 / float(self.fps)
        last_index = -1
        next_scan_t: float | None = None
        scan_period = 1000 / self.settings.scan.rate_hz
        resumed = False
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except SourceLost as e:
                    self._lost(self.last_frame_t or self.clock.now_ms(), str(e))
                    self._frames.put(_END_RUN)
                    if not self._reconnect():
                        break
                    # The outage is the next run's gap entry, not dropped frames of its
                    # first segment (counted as both before).
                    resumed = True
                    continue
                if frame is None:
                    break
                if self.first_frame_t is None:
                    self.first_frame_t = frame.t_ms
                if self.for_ms is not None and frame.t_ms - self.first_frame_t >= self.for_ms:
                    break
                if self.end_at_ms is not None and frame.t_ms >= self.end_at_ms:
                    break
                dropped = 0
                if self.last_frame_t is not None and not resumed:
                    # Late by its time, or a jump in the source's own frame count (an IP
                    # camera's timestamps can show a hole its arrival times hide: frames
                    # the camera lost just before a burst of buffered ones).
                    by_time = round((frame.t_ms - self.last_frame_t) / interval) - 1
                    by_index = frame.index - last_index - 1
                    dropped = max(0, by_time, by_index)
                last_index = frame.index
                resumed = False
                self._count_frame(frame)
                if self.realtime:
                    if self.scanner is not None:
                        self.slot.put(frame)
                    try:
                        self._frames.put_nowait((frame, dropped))
                    except queue.Full:
                        self._count_dropped(1)  # the writer fell behind: a real drop
                else:
                    if self.scanner is not None and (
                        next_scan_t is None or frame.t_ms >= next_scan_t
                    ):
                        # Fast mode scans by source time, so a file gives the same scans
                        # however fast the machine is.
                        next_scan_t = frame.t_ms + scan_period
                        self.scanner.process(frame)
                    self._frames.put((frame, dropped))
                if dropped:
                    self._count_dropped(dropped)
        except BaseException as e:  # reported to the main loop, never lost
            self.error = e
        finally:
            if self.primary:
                self.events.put(Shutdown(self.last_frame_t or self.clock.now_ms()))
            self._frames.put(_STOP)

    def show_caption(self, state: OverlayState) -> None:
        """Webcam capture: the caption ffmpeg burns in now shows ``state``."""
        if self._caption is not None:
            self._caption.show(state)

    def _capture_copy(self) -> None:
        """Stream copy or webcam capture: ffmpeg records; this thread takes its scan
        frames (from the run, or from the sub-stream's own ffmpeg), and starts a new run
        (after ``reconnect_seconds``) whenever the camera goes away (recorder/substream.py
        says what losing only one of the two streams does)."""
        cam = self.camera
        run: CopyRun | None = None
        sub: ScanStream | None = None
        sub_retry = 0.0  # monotonic time of the next sub-stream attempt
        sub_alarmed = False  # the sub-stream's outage is on the screen already
        index = 0
        try:
            while not self._stop.is_set():
                if run is None:
                    run = self._start_ffmpeg_run()
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
                            self.events.put(
                                ViewAlarm(
                                    self.last_frame_t or self.clock.now_ms(),
                                    "scan-lost",
                                    f"{self._prefix}scan stream lost: "
                                    f"{redact(cam.scan_url or '')}: {why}; "
                                    "the main stream records on",
                                )
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
                        self.gap_reason = "camera-lost"
                        self._lost(self.last_frame_t or self.clock.now_ms(), self._gone())
                    run = None
                    self._stop.wait(cam.reconnect_seconds)
                    continue
                image, t_ms = got
                frame = Frame(image, t_ms, index)
                index += 1
                if self.first_frame_t is None:
                    self.first_frame_t = t_ms
                if self.for_ms is not None and t_ms - self.first_frame_t >= self.for_ms:
                    break
                self._count_frame(frame)
                if self.scanner is not None:
                    self.slot.put(frame)
        except BaseException as e:  # reported to the main loop, never lost
            self.error = e
        finally:
            if sub is not None:
                sub.finish()
            if run is not None:
                run.finish()
            if self.primary:
                self.events.put(Shutdown(self.last_frame_t or self.clock.now_ms()))
            self._frames.put(_STOP)

    def _gone(self) -> str:
        if self.copy is not None:
            stall = self.camera.stall_seconds
            return f"IP camera {self.copy.name}: stream ended or stalled (no data for {stall:g} s)"
        name = self.webcam.name if self.webcam is not None else "?"
        return f"camera {name}: stopped delivering frames (ffmpeg capture ended)"

    def _start_ffmpeg_run(self) -> CopyRun:
        if self.copy is not None:
            return self._start_copy_run(self.copy)
        assert self.webcam is not None
        assert self._caption is not None
        self._caption.start(self._overlay_state())
        run = WebcamRun.capture(
            self._run_id(self.clock.now_ms()),
            self.workdir,
            self.webcam.ffmpeg_input(),
            ffmpeg=self.ffmpeg,
            settings=self.settings.encoder,
            fps=self.fps,
            width=self.video.width,
            height=self.video.height,
            scan=ScanGeometry.of(
                self.video.width, self.video.height, self.camera.scan_width,
                self.settings.scan.rate_hz, gray=True,
            ),
            caption=self._caption,
            zone=self.settings.timezone,
            gap_reason=self.gap_reason,
        )  # fmt: skip
        run.on_dropped = self._count_dropped
        run.watch(self.clock)
        self.queue.add_run(run)
        return run

    def _start_copy_run(self, camera: IpCameraSource) -> CopyRun:
        cam = self.camera
        first_t = self.clock.now_ms()
        run = CopyRun.start(
            self._run_id(first_t),
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
            gap_reason=self.gap_reason,
            codec=self.video.codec,
            clock=self.clock,
        )
        run.on_dropped = self._count_dropped
        run.watch(self.clock)
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

    @property
    def _prefix(self) -> str:
        """How a message names this view: nothing for the primary (as with one camera)."""
        return "" if self.primary else f"view {self.name}: "

    def _run_id(self, first_t: int) -> str:
        # Two views never share a run id (the contract): a further view's names itself.
        suffix = "" if self.name is None else f"-{self.name}"
        return f"{first_t}-{os.urandom(3).hex()}{suffix}"

    def _reconnect(self) -> bool:
        delay = self.camera.reconnect_seconds
        while not self._stop.is_set() and self.end_at_ms is None:
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
                        self.gap_reason = "camera-lost"
                    continue
                frame, dropped = cast(tuple[Frame, int], item)
                if run is None:
                    if self.clock.monotonic() < backoff_until:
                        continue
                    run = self._start_run(frame.t_ms)
                image = frame.image.copy()
                state = self._overlay_state()
                if not self.primary:  # a further view's picture names its view
                    state = replace(state, station=f"{state.station} {self.name}")
                self.overlay.draw(image, state, frame.t_ms, frame.index)
                try:
                    run.write(frame.t_ms, dropped, to_i420(image))
                except EncoderError as e:
                    self._encoder_died(frame.t_ms, e.message)
                    run.kill()
                    run = None
                    self.gap_reason = "encoder-died"
                    backoff_until = self.clock.monotonic() + 1.0
                    continue
                with self._lock:
                    self.encoded += 1
        except BaseException as e:  # reported to the main loop, never lost
            self.error = e
        finally:
            if run is not None:
                run.finish()

    def _start_run(self, first_t: int) -> Run:
        run = Run.start(
            self._run_id(first_t),
            self.workdir,
            self.settings.encoder,
            width=self.source.width,
            height=self.source.height,
            fps=self.fps,
            ffmpeg=self.ffmpeg,
            started_ms=first_t,
            gap_reason=self.gap_reason,
        )
        self.queue.add_run(run)
        return run
