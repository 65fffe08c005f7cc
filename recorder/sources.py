"""Frame sources: one small protocol, and the camera, file and demo implementations.

A source delivers BGR frames with capture times in ms since the epoch (UTC). A camera
stamps frames with the clock; a file or the demo stamps frame ``n`` at
``epoch + pts(n)``, so their times are reproducible. ``read()`` blocks until the next
frame is due (``realtime``) and returns ``None`` at the end of a stream. A camera that
stops delivering raises :class:`SourceLost`; ``reopen()`` tries to get it back.
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from recorder._errors import SourceError, SourceLost
from recorder._frame import Frame, Image, _as_fps, _even_size, _Geometry
from recorder._v4l2 import camera_source, v4l2_input
from recorder.clock import Clock
from recorder.demo import DemoScene
from recorder.settings import CameraSettings
from storage.footage import FootageSource
from storage.redact import redact

__all__ = [
    "CameraSource",
    "DemoSource",
    "FfmpegCamera",
    "FileSource",
    "Frame",
    "FrameSource",
    "Image",
    "footage_source",
    "open_source",
]


class FrameSource(Protocol):
    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def fps(self) -> Fraction: ...

    def read(self) -> Frame | None: ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class FfmpegCamera(Protocol):
    """A camera ffmpeg can open itself (webcam capture, :mod:`recorder.webcam`)."""

    @property
    def name(self) -> str: ...

    def ffmpeg_input(self) -> list[str]:
        """ffmpeg's input options, ending in ``-i`` and the camera."""
        ...


def footage_source(source: FrameSource) -> FootageSource | None:
    """What ``source`` says it is, for the clip entry (``None``: a source that does not
    say, such as a test's fake)."""
    origin = getattr(source, "origin", None)
    return origin if isinstance(origin, FootageSource) else None


class _Pacer:
    """Camera-like timing for frames that are not from a camera.

    A frame due ``offset`` seconds after the start is handed out no earlier than that. A
    consumer that falls more than one frame interval behind gets the frame due now, not
    the backlog, as from a camera: the skipped indices are how the station counts drops.
    The stream starts when the source is created, as a camera's does when it is opened.
    """

    def __init__(self, clock: Clock, fps: Fraction, realtime: bool) -> None:
        self.clock = clock
        self.realtime = realtime
        self.interval = 1 / float(fps)
        self.start = clock.monotonic()

    def elapsed(self) -> float:
        return self.clock.monotonic() - self.start

    def late(self, offset: float, elapsed: float) -> bool:
        return self.realtime and elapsed - offset > self.interval

    def wait(self, offset: float, elapsed: float) -> None:
        if self.realtime and offset > elapsed:
            self.clock.sleep(offset - elapsed)


def _default_epoch(clock: Clock, realtime: bool, length_ms: int | None) -> int:
    """The time of the first frame when none was chosen: now, for a source read as fast as
    it decodes, ``length_ms`` before now. Otherwise its footage would be dated after the
    station sealed it, which verify and audit rightly refuse as untrue times."""
    now = clock.now_ms()
    return now if realtime or length_ms is None else now - length_ms


class DemoSource(_Geometry):
    """Frames of a :class:`~recorder.demo.DemoScene`; frame ``n`` is stamped
    ``epoch_ms + round(n * 1000 / fps)``.

    The stream ends at ``limit_ms`` or at the scene's end, whichever comes first (ms from
    the start). ``realtime=False`` hands out every frame as fast as it is read (``--fast``).
    ``closeup`` films the same table as a second camera would, closer: the middle of the
    scene (where the pick list and the waybill are shown), enlarged to the frame size.
    """

    def __init__(
        self,
        scene: DemoScene,
        clock: Clock,
        *,
        realtime: bool = True,
        epoch_ms: int | None = None,
        limit_ms: int | None = None,
        closeup: bool = False,
    ) -> None:
        _even_size(
            "demo scene",
            scene.width,
            scene.height,
            "set station.camera.width and height to even numbers (the demo uses them)",
        )
        self._scene = scene
        self._width, self._height = scene.width, scene.height
        self._fps = Fraction(scene.fps)
        ends = [x for x in (limit_ms, scene.duration_ms) if x is not None]
        self._limit = min(ends) if ends else None
        self._epoch = _default_epoch(clock, realtime, self._limit) if epoch_ms is None else epoch_ms
        self._pacer = _Pacer(clock, self._fps, realtime)
        self._next = 0
        self._closed = False
        self._closeup = closeup

    @property
    def scene(self) -> DemoScene:
        return self._scene

    @property
    def origin(self) -> FootageSource:
        shot = " close-up" if self._closeup else ""
        return FootageSource("demo", name=f"demo:{self._scene.seed}{shot}")

    def _render(self, n: int) -> Image:
        image = self._scene.render(n)
        if not self._closeup:
            return image
        h, w = image.shape[:2]
        x0, y0, cw, ch = w // 5, h * 3 // 20, w * 3 // 5, h * 3 // 5
        crop = image[y0 : y0 + ch, x0 : x0 + cw]
        return np.asarray(cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)

    def read(self) -> Frame | None:
        if self._closed:
            return None
        n = self._next
        fps = self._scene.fps
        if self._pacer.realtime:
            elapsed = self._pacer.elapsed()
            if self._pacer.late(n / fps, elapsed):
                # The frame due now. A monotonic clock far from zero (ManualClock sits at
                # ~1.7e9 s) carries ~0.2 us of float error: allow 1/1000 of a frame.
                n = max(n, math.floor(elapsed * fps + 1e-3))
            else:
                self._pacer.wait(n / fps, elapsed)
        t_ms = round(n * 1000 / fps)
        if self._limit is not None and t_ms >= self._limit:
            return None
        self._next = n + 1
        return Frame(self._render(n), self._epoch + t_ms, n)

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self._closed = True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class FileSource(_Geometry):
    """A video file read through OpenCV's FFmpeg backend; frames are stamped
    ``epoch_ms + presentation time``, and paced like a camera unless ``realtime=False``."""

    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        realtime: bool = True,
        epoch_ms: int | None = None,
    ) -> None:
        self._path = Path(path)
        hint = "give file:PATH the path of a video file (MP4, MKV, AVI ...) that ffmpeg can play"
        if not self._path.is_file():
            found = "a directory" if self._path.is_dir() else "nothing"
            raise SourceError(
                f"video file {self._path}: expected a video file, found {found}", hint=hint
            )
        cap = cv2.VideoCapture(str(self._path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            size = self._path.stat().st_size
            raise SourceError(
                f"video file {self._path}: expected a video ffmpeg can decode, "
                f"found {size} bytes it cannot open",
                hint=hint,
            )
        fps = _as_fps(cap.get(cv2.CAP_PROP_FPS))
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if fps is None:
            cap.release()
            raise SourceError(
                f"video file {self._path}: expected a frame rate, found none in the file",
                hint="re-encode it with a constant frame rate, e.g. `ffmpeg -i IN -r 30 OUT.mp4`",
            )
        try:
            _even_size(
                f"video file {self._path}",
                width,
                height,
                "re-encode it to an even size, e.g. `ffmpeg -i IN -vf scale=1280:720 OUT.mp4`",
            )
        except SourceError:
            cap.release()
            raise
        self._cap: cv2.VideoCapture | None = cap
        self._fps = fps
        self._width, self._height = width, height
        frames = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        length = round(frames * 1000 / float(fps)) if frames > 0 else None
        self._epoch = _default_epoch(clock, realtime, length) if epoch_ms is None else epoch_ms
        self._pacer = _Pacer(clock, fps, realtime)
        self._count = 0  # frames decoded so far, including skipped ones
        self._origin = FootageSource("file", name=self._path.name, sha256=_file_sha256(self._path))

    @property
    def origin(self) -> FootageSource:
        return self._origin

    def _grab(self) -> float | None:
        """Decode the next frame; its presentation time in s, or None at the end."""
        assert self._cap is not None
        if not self._cap.grab():
            return None
        self._count += 1
        return float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        pts = self._grab()
        if pts is None:
            return None
        if self._pacer.realtime:
            elapsed = self._pacer.elapsed()
            while self._pacer.late(pts, elapsed):
                pts = self._grab()
                if pts is None:
                    return None
            self._pacer.wait(pts, elapsed)
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            raise SourceError(
                f"video file {self._path}: frame {self._count - 1} could not be decoded",
                hint="the file may be truncated; check it with `ffmpeg -v error -i FILE -f null -`",
            )
        return Frame(
            np.asarray(image, dtype=np.uint8), self._epoch + round(pts * 1000), self._count - 1
        )

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource(_Geometry):
    """A V4L2 camera; frames are stamped with ``clock.now_ms()`` when read.

    The index follows the driver's buffer timestamps when it gives them, so frames the
    driver dropped while the reader was busy show up as a jump; otherwise it counts reads.
    """

    def __init__(self, settings: CameraSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        dev = settings.device
        self._device: int | str = int(dev) if isinstance(dev, str) and dev.isdigit() else dev
        self._name = f"/dev/video{self._device}" if isinstance(self._device, int) else self._device
        self._cap: cv2.VideoCapture | None = None
        self._index = -1
        self._last_ts: float | None = None
        self._width = self._height = 0
        self._fps = Fraction(settings.fps)
        self._open()

    def _open(self) -> None:
        s = self._settings
        cap = cv2.VideoCapture(self._device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"camera {self._name}: expected a V4L2 video device, found none that opens",
                hint="check the camera's USB cable, list the devices with `ls /dev/video*`, "
                "and set station.camera.device in config.yaml (an index or a /dev/video path)",
            )
        # FOURCC first: many UVC cameras offer 720p30 and above only as MJPG.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*s.fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, s.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, s.height)
        cap.set(cv2.CAP_PROP_FPS, s.fps)
        # The driver picks the nearest mode it has; what it picked is what we record.
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        try:
            _even_size(
                f"camera {self._name}",
                width,
                height,
                "set station.camera.width and height to a mode the camera offers "
                "(`v4l2-ctl --list-formats-ext` lists them)",
            )
        except SourceError:
            cap.release()
            raise
        self._width, self._height = width, height
        self._fps = _as_fps(cap.get(cv2.CAP_PROP_FPS)) or Fraction(s.fps)
        self._cap = cap
        self._last_ts = None
        # Read again at every (re)open: the camera plugged back in may be another one.
        self._origin = camera_source(self._name)

    @property
    def origin(self) -> FootageSource:
        return self._origin

    @property
    def name(self) -> str:
        return self._name

    def ffmpeg_input(self) -> list[str]:
        return v4l2_input(
            self._name,
            width=self._width,
            height=self._height,
            fps=self._fps,
            fourcc=self._settings.fourcc,
        )

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceLost(
                f"camera {self._name}: stopped delivering frames after frame {self._index}",
                hint="check the camera's USB cable and power; the station tries to reopen it "
                f"every {self._settings.reconnect_seconds:g} s (station.camera.reconnect_seconds)",
            )
        t_ms = self._clock.now_ms()
        ts = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))
        step = 1
        if self._last_ts is not None and ts > self._last_ts:
            step = max(1, round((ts - self._last_ts) * float(self._fps) / 1000))
        self._last_ts = ts if ts > 0 else None
        self._index += step
        return Frame(np.asarray(image, dtype=np.uint8), t_ms, self._index)

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


_SPECS = (
    "camera, camera:N, camera:/dev/videoN, rtsp://..., http(s)://... (MJPEG), file:PATH, "
    "demo or demo:SEED"
)


def open_source(
    spec: str,
    camera: CameraSettings,
    clock: Clock,
    *,
    realtime: bool = True,
    epoch_ms: int | None = None,
    seed: int = 1,
) -> FrameSource:
    """The source a ``--source`` / ``station.source`` string names.

    ``camera`` uses ``camera.device``; ``camera:N`` and ``camera:/dev/videoN`` override it.
    An ``rtsp://`` or ``http(s)://`` URL (given here or as ``camera.device``) is an IP
    camera (:mod:`recorder.ipcam`).
    ``demo`` draws a scene of the camera's size and rate; ``demo:SEED`` picks the scene.
    ``realtime`` and ``epoch_ms`` apply to files and the demo; a camera is always live.
    """
    from recorder.ipcam import IpCameraSource, is_ip_camera

    if is_ip_camera(spec):
        return IpCameraSource(spec, camera, clock)
    kind, colon, arg = spec.partition(":")
    if kind == "camera" and not colon:
        if is_ip_camera(camera.device):
            return IpCameraSource(str(camera.device), camera, clock)
        return CameraSource(camera, clock)
    if kind == "camera" and (arg.isdigit() or arg.startswith("/dev/")):
        device: int | str = int(arg) if arg.isdigit() else arg
        return CameraSource(camera.model_copy(update={"device": device}), clock)
    if kind == "file" and arg:
        return FileSource(arg, clock, realtime=realtime, epoch_ms=epoch_ms)
    if kind == "demo" and (not colon or arg.isdigit()):
        scene = DemoScene(camera.width, camera.height, camera.fps, seed=int(arg) if colon else seed)
        return DemoSource(scene, clock, realtime=realtime, epoch_ms=epoch_ms)
    # A mistyped URL (rtsp:/..., rtsp//...) is no URL to redact, but may hold a password.
    shown = "(not shown: it has an @)" if "@" in spec else repr(redact(spec))
    raise ValueError(f"source {shown} not understood; expected {_SPECS}")
