"""IP cameras: RTSP (H.264/H.265) and HTTP(S) MJPEG streams, read through OpenCV's
FFmpeg backend, as a :class:`~recorder.sources.FrameSource` like a USB camera.

Lost and stalled streams. A refused or dropped connection makes ``read()`` fail at once;
a stream that stays connected but sends nothing (a camera hung, a switch port down) is
cut by the *watchdog*: FFmpeg's I/O interrupt callback gives up after
``stall_seconds`` without data (OpenCV's ``CAP_PROP_READ_TIMEOUT_MSEC``), and ``read()``
raises :class:`SourceLost`. The station then logs a ``camera-lost`` gap and calls
``reopen()`` every ``reconnect_seconds``, exactly as for a USB camera.

Times come from the camera. Each frame carries its presentation time (RTP timestamps,
which RTSP servers tie to their clock); a frame is stamped ``pts + offset``, the offset
fixed when the first frame arrives, so the spacing of stamps is the camera's own and a
frame the camera or network lost shows up as a hole the station counts as dropped.
The offset is re-fixed when the camera's time runs ahead of ours (a stamp in the
future) or falls more than ``_MAX_LAG_MS`` behind (a camera clock running slow, a pts
reset after the camera restarted its stream). A server that sends what it buffered in a
burst on connect (GStreamer's RTSP server: ~1 s) gets those frames stamped as they
arrive (each would be in the future), then its live frames at camera spacing. MJPEG
over HTTP has no timestamps and no frame rate: its frames are stamped when read, as a
V4L2 camera without buffer times is, and ``station.camera.fps`` must be the camera's.

Credentials: the URL is kept for connecting only; everything shown (``name``, errors)
is :func:`storage.redact.redact`'s form.
"""

from __future__ import annotations

import os
from fractions import Fraction

import cv2
import numpy as np

from recorder._errors import SourceError, SourceLost
from recorder._frame import Frame, _as_fps, _even_size, _Geometry
from recorder.clock import Clock
from recorder.settings import CameraSettings
from storage.footage import FootageSource, network_source
from storage.redact import redact

__all__ = ["IP_SCHEMES", "IpCameraSource", "is_ip_camera"]

IP_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
_MAX_LAG_MS = 2000  # behind the wall clock by more than this: the camera's time is off
_AHEAD_MS = 100  # a stamp this far in the future is not a capture time
_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
# Opens tried when the stream opens without a frame size (0x0): FFmpeg's probe gave up
# before the stream's parameters came (no keyframe yet in its window; seen when 8-12
# stations started at once on a loaded machine, each on its second try).
_PROBES = 4


def is_ip_camera(spec: object) -> bool:
    return isinstance(spec, str) and spec.lower().startswith(IP_SCHEMES)


class IpCameraSource(_Geometry):
    """An IP camera at ``url``; ``settings`` give the reconnect, watchdog and transport."""

    def __init__(self, url: str, settings: CameraSettings, clock: Clock) -> None:
        if not is_ip_camera(url):
            raise ValueError(f"not an IP camera URL: {redact(url)!r}; expected {IP_SCHEMES}")
        self._url = url
        self.name = redact(url)
        self._rtsp = url.lower().startswith(("rtsp://", "rtsps://"))
        self._settings = settings
        self._clock = clock
        self._cap: cv2.VideoCapture | None = None
        self._geometry: tuple[int, int] | None = None
        self._index = -1
        self._offset: int | None = None  # t_ms - pts_ms
        self._last_pts: float | None = None
        self._last_t: int | None = None
        self._fps = Fraction(settings.fps)
        self.codec = ""  # FFmpeg's fourcc of the stream: "h264" / "avc1" for H.264
        self._origin = network_source(url)  # host and port: never the credentials
        self._open()

    @property
    def url(self) -> str:
        """The URL with its credentials: for connecting (stream-copy mode) only."""
        return self._url

    @property
    def is_rtsp(self) -> bool:
        return self._rtsp

    @property
    def origin(self) -> FootageSource:
        return self._origin

    def _hint(self) -> str:
        s = self._settings
        return (
            "check that the camera is powered and reachable, and the URL's host, port, path "
            f"and credentials (station.camera.device); while recording, the station "
            f"retries every {s.reconnect_seconds:g} s (station.camera.reconnect_seconds)"
        )

    def _open(self) -> None:
        s = self._settings
        for attempt in range(1, _PROBES + 1):
            cap = self._connect()
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if width > 0 and height > 0:
                break
            cap.release()
            if attempt == _PROBES:
                raise SourceError(
                    f"IP camera {self.name}: expected the stream's frame size, found {width}x"
                    f"{height} in {_PROBES} opens (FFmpeg's probe found no picture "
                    "parameters: no keyframe within its window, or the machine too busy "
                    "to read one)",
                    hint="check that the camera sends a keyframe at least every few seconds "
                    "(its I-frame interval / GOP); when many stations start at once on a "
                    f"busy machine, start them in turn. {self._hint()}",
                )
            self._clock.sleep(s.reconnect_seconds)
        self._probed(cap, width, height)

    def _connect(self) -> cv2.VideoCapture:
        s = self._settings
        timeout_ms = round(s.stall_seconds * 1000)
        if self._rtsp and _OPTIONS_ENV not in os.environ:
            # OpenCV passes FFmpeg options only through this variable (read at each open);
            # a user's own setting wins.
            os.environ[_OPTIONS_ENV] = f"rtsp_transport;{s.rtsp_transport}"
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        cap = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"IP camera {self.name}: expected a video stream, found none within "
                f"{s.stall_seconds:g} s (unreachable, refused, wrong path or credentials)",
                hint=self._hint(),
            )
        return cap

    def _probed(self, cap: cv2.VideoCapture, width: int, height: int) -> None:
        try:
            _even_size(
                f"IP camera {self.name}",
                width,
                height,
                "set the camera's stream to an even size (all standard sizes are)",
            )
            if self._geometry is not None and (width, height) != self._geometry:
                w, h = self._geometry
                raise SourceError(
                    f"IP camera {self.name}: expected {w}x{h} as when the station started, "
                    f"found {width}x{height}",
                    hint="restart the station after changing the camera's resolution",
                )
        except SourceError:
            cap.release()
            raise
        self._geometry = (width, height)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        self.codec = bytes((fourcc >> 8 * i) & 0xFF for i in range(4)).decode("latin-1").lower()
        self._width, self._height = width, height
        if self._index < 0 and self._rtsp:
            self._fps = _as_fps(cap.get(cv2.CAP_PROP_FPS)) or Fraction(self._settings.fps)
        # MJPEG over HTTP states no rate (FFmpeg guesses 25): station.camera.fps is it.
        self._cap = cap
        self._offset = None
        self._last_pts = None

    def _next(self) -> tuple[np.ndarray, float]:
        assert self._cap is not None
        ok = self._cap.grab()
        image = self._cap.retrieve()[1] if ok else None
        if image is None:
            s = self._settings
            raise SourceLost(
                f"IP camera {self.name}: no frame for up to {s.stall_seconds:g} s after "
                f"frame {self._index} (connection lost or stream stalled)",
                hint=self._hint(),
            )
        return np.asarray(image, dtype=np.uint8), float(self._cap.get(cv2.CAP_PROP_POS_MSEC))

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        image, pts = self._next()
        now = self._clock.now_ms()
        interval = 1000 / float(self._fps)
        if not self._rtsp or pts < 0:
            t_ms, step = now, 1  # no camera time: stamped when read
        else:
            t = None if self._offset is None else round(pts) + self._offset
            if t is None or t > now + _AHEAD_MS or now - t > _MAX_LAG_MS:
                self._offset = now - round(pts)
                t = now
            step = 1
            if self._last_pts is not None and pts > self._last_pts:
                step = max(1, round((pts - self._last_pts) / interval))
            self._last_pts = pts
            t_ms = t
        if self._last_t is not None and t_ms <= self._last_t:
            t_ms = self._last_t + 1  # capture times only move forward
        self._last_t = t_ms
        self._index += step
        return Frame(image, t_ms, self._index)

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
