"""Stream-copy mode's sources: the camera a view copies, and its sub-stream to scan.

Checked when the station is built, so a camera that cannot be copied (not RTSP, not
H.264 or H.265) is an error at start; the sub-stream is not opened then (a station whose
sub-stream is down records, and raises ``scan-lost``).
"""

from __future__ import annotations

from recorder._errors import SourceError
from recorder.copyrun import ScanGeometry, copy_codec
from recorder.ipcam import IpCameraSource
from recorder.settings import CameraSettings
from recorder.sources import FrameSource

__all__ = ["CODEC_NAMES", "SCAN_LOG_NAME", "SUB_SCAN_WIDTH", "copy_source", "sub_stream_scan"]


def copy_source(camera: CameraSettings, source: FrameSource) -> IpCameraSource | None:
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


CODEC_NAMES = {"h264": "H.264", "hevc": "H.265"}
SCAN_LOG_NAME = "scan-ffmpeg.log"
SUB_SCAN_WIDTH = 640  # a sub-stream's usual width; codes the demo reads at 640x360 read here


def sub_stream_scan(cam: CameraSettings, width: int, height: int, rate_hz: float) -> ScanGeometry:
    """The scan frames' size with a sub-stream (station.camera.scan_url): ``scan_width``
    (default 640) at the main stream's aspect ratio, whatever the sub-stream's own size (a
    D1 704x576 sub-stream of a 16:9 camera is anamorphic: this undoes it). Nothing is
    opened here, so a station whose sub-stream is down still starts and records."""
    return ScanGeometry.of(width, height, cam.scan_width or SUB_SCAN_WIDTH, rate_hz)
