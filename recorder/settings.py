"""The station's settings: the ``station:`` slice of config.yaml, validated once.

Each part of the station takes only its own slice (``Scanner(settings.scan, ...)``).
Defaults are the measured choices recorded in bench/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from storage.entries import is_view_name
from storage.redact import redact

ORDER_PATTERN = r"[A-Za-z0-9_-]{6,40}"
# The scaled pass falls back to full resolution on every Nth frame it finds nothing in
# (bench/README.md "first pass": measured at 1080p, held-out scenes).
FULL_EVERY = 5


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraSettings(_Settings):
    device: int | str = Field(
        0,
        description="V4L2 index (0 = /dev/video0), device path, or an IP camera's "
        "rtsp:// or http(s):// MJPEG URL (its password is never shown or logged)",
    )
    width: int = Field(1280, ge=160, le=3840)
    height: int = Field(720, ge=120, le=2160)
    fps: int = Field(30, ge=1, le=60)
    fourcc: str = Field("MJPG", min_length=4, max_length=4)
    reconnect_seconds: float = Field(2.0, gt=0, le=60)
    stall_seconds: float = Field(
        5.0, ge=0.5, le=120, description="an IP camera that sends no frame this long is lost"
    )
    mode: Literal["encode", "copy"] = Field(
        "encode",
        description="encode: decode, burn in the overlay, re-encode (any source); copy: store "
        "an H.264 RTSP camera's stream as sent (no overlay, ~no CPU), scan decoded frames",
    )
    capture: Literal["ffmpeg", "python"] = Field(
        "ffmpeg",
        description="a V4L2 webcam in encode mode: ffmpeg reads it, burns in the caption and "
        "encodes, Python gets scan frames only (ffmpeg); or every frame passes through "
        "Python (python; bench/README.md compares them)",
    )
    scan_width: int | None = Field(
        None,
        ge=160,
        le=3840,
        description="copy mode and ffmpeg capture: width of the frames scanned; null = full",
    )
    scan_url: str | None = Field(
        None,
        description="copy mode: the camera's low-resolution sub-stream (rtsp://), decoded for "
        "scanning (at scan_width, default 640, and the main stream's aspect) instead of the "
        "main stream, which is then only copied; null = the main stream",
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(
        "tcp", description="RTP over the RTSP connection (tcp) or over UDP (loses packets)"
    )

    @model_validator(mode="after")
    def _scan_url_needs_copy(self) -> CameraSettings:
        if self.scan_url is None:
            return self
        if self.mode != "copy":
            raise ValueError(
                "scan_url (a sub-stream to scan) is for mode: copy; in encode mode every "
                "frame of the main stream is decoded anyway, so remove it or set mode: copy"
            )
        if not self.scan_url.lower().startswith(("rtsp://", "rtsps://")):
            raise ValueError(
                "scan_url: expected the camera's rtsp:// sub-stream (e.g. "
                ".../Streaming/Channels/102 on Hikvision, ...&subtype=1 on Dahua)"
            )
        return self


MAX_VIEWS = 2


class ViewCameraSettings(CameraSettings):
    """One camera of ``station.cameras``: a named view, and whether its frames are scanned."""

    view: str = Field(..., description="the view's name, e.g. top or side: 1-16 of a-z, 0-9 and -")
    scan: bool = Field(True, description="scan codes in this view's frames")

    @field_validator("view")
    @classmethod
    def _view_name(cls, value: str) -> str:
        # The log's rule (it names a bundle member clip.<view>.mp4, so c2pa is taken).
        if not is_view_name(value):
            raise ValueError(
                "expected a view name of 1-16 of a-z, 0-9 and '-' starting with a letter or "
                "digit, e.g. top or side, and not c2pa (it names the view's file in a bundle)"
            )
        return value


@dataclass(frozen=True, slots=True)
class View:
    """A camera the station records: ``name`` None for the one camera of
    ``station.camera`` (one unnamed view); the first view is the primary one."""

    name: str | None
    camera: CameraSettings
    scan: bool = True

    @property
    def label(self) -> str:
        """How screens and messages name it."""
        return self.name or "camera"


class GunSettings(_Settings):
    input: str | None = Field(None, description="'stdin', a device/FIFO path, or null for none")
    submit_after_ms: int = Field(120, ge=20, le=2000, description="guns without Enter")


class ScanSettings(_Settings):
    rate_hz: float = Field(5.0, gt=0, le=30)
    decoders: tuple[Literal["zxing", "pyzbar"], ...] = ("zxing", "pyzbar")
    confirm_window_ms: int = Field(2000, ge=100, le=10_000)
    rearm_ms: int = Field(3000, ge=0, le=60_000)
    zone: tuple[float, float, float, float] | None = Field(
        None, description="x, y, w, h as fractions of the frame; null = whole frame"
    )
    first_scale: float = Field(
        1.0,
        ge=0.25,
        le=1.0,
        description="decode the frame (or zone) scaled by this first; 1 = full resolution only",
    )
    first_width: int | None = Field(
        960,
        ge=160,
        le=3840,
        description="the scaled pass is also at most this many px wide (1080p: half size, "
        "720p: 3/4; narrower frames are decoded at full resolution only); null = first_scale "
        "alone",
    )
    full_every: int = Field(
        FULL_EVERY,
        ge=1,
        le=10,
        description="when the scaled pass finds nothing, decode at full resolution on every "
        "Nth such frame (1 = always), and on every frame while a full-resolution pass reads a code",
    )
    order_pattern: str = ORDER_PATTERN
    tracking_patterns: tuple[str, ...] = (
        r"1Z[0-9A-Z]{16}",  # UPS
        r"[A-Z]{2}[0-9]{9}[A-Z]{2}",  # UPU S10 (postal)
        r"(SF|JT|YT|ZT|JD|TBA)[0-9A-Z]{9,20}",  # SF, J&T, YTO, ZTO, JD, Amazon
        r"TRK[0-9A-Z-]{6,30}",  # the demo's waybills
    )
    product_symbologies: tuple[str, ...] = ("EAN-13", "EAN-8", "UPC-A", "UPC-E")
    stop_code: str = "PACKSEAL-STOP"
    cancel_code: str = "PACKSEAL-CANCEL"
    ack_code: str = Field(
        "PACKSEAL-ACK", description="acknowledges the station's alarms (a packer has no mouse)"
    )
    gun: GunSettings = GunSettings()

    @field_validator("order_pattern", "tracking_patterns")
    @classmethod
    def _compiles(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for pattern in (value,) if isinstance(value, str) else value:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"not a regular expression: {pattern!r} ({e})") from e
        return value


class EncoderSettings(_Settings):
    ffmpeg: str | None = Field(None, description="ffmpeg path; null = the one imageio-ffmpeg ships")
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    crf: int = Field(28, ge=0, le=51)
    segment_seconds: int = Field(2, ge=1, le=10)
    threads: int | None = Field(None, ge=1, le=64)
    bframes: int = Field(
        0, ge=0, le=16, description="x264 B-frames: 0 saves CPU, 3 (veryfast's) ~10 % bytes"
    )


class ClipSettings(_Settings):
    record: Literal["continuous", "orders-only"] = "continuous"
    pre_roll_seconds: float = Field(2.0, ge=0, le=30)
    post_roll_seconds: float = Field(2.0, ge=0, le=30)
    idle_seconds: float = Field(60.0, ge=5, le=3600, description="no motion this long ends a clip")
    max_seconds: float = Field(900.0, ge=10, le=4 * 3600)
    motion_threshold: float = Field(2.0, gt=0, le=255, description="mean abs diff, 0-255 gray")


class StationSettings(_Settings):
    id: str = Field("station-01", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    name: str = Field("Packing station 1", min_length=1, max_length=128)
    operator: str = Field("", max_length=128)
    timezone: str | None = Field(
        None, description="IANA zone for the overlay and clip entries; null = system"
    )
    checkpoint_seconds: int = Field(60, ge=5, le=3600)
    camera: CameraSettings = CameraSettings()
    cameras: tuple[ViewCameraSettings, ...] | None = Field(
        None,
        description="up to 2 named views instead of camera (the first is the primary); "
        "null = the one camera above",
    )
    scan: ScanSettings = ScanSettings()
    encoder: EncoderSettings = EncoderSettings()
    clips: ClipSettings = ClipSettings()

    @model_validator(mode="after")
    def _views(self) -> StationSettings:
        cams = self.cameras
        if cams is None:
            return self
        if "camera" in self.model_fields_set:
            raise ValueError(
                "camera and cameras are both set: list every view under "
                "cameras (each with a view name) and remove camera"
            )
        if not 1 <= len(cams) <= MAX_VIEWS:
            raise ValueError(f"cameras: expected 1 to {MAX_VIEWS} views, found {len(cams)}")
        names = [c.view for c in cams]
        for name in sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"cameras: view name {name!r} is used twice")
        devices = [str(c.device) for c in cams]
        for device in sorted({d for d in devices if devices.count(d) > 1}):
            raise ValueError(
                f"cameras: two views record the same device {redact(device)!r}; "
                "give each view its own camera"
            )
        if not any(c.scan for c in cams) and self.scan.gun.input is None:
            raise ValueError(
                "cameras: no view has scan: true and no scanner gun is set "
                "(station.scan.gun.input), so no order could ever open a clip"
            )
        return self

    @property
    def views(self) -> tuple[View, ...]:
        """The views to record, the primary first."""
        if self.cameras is None:
            return (View(None, self.camera),)
        return tuple(
            View(c.view, CameraSettings(**c.model_dump(exclude={"view", "scan"})), c.scan)
            for c in self.cameras
        )
