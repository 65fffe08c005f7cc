"""A V4L2 camera's identity, as far as the kernel tells it: card name and bus from
``VIDIOC_QUERYCAP``, else sysfs; the USB serial number from sysfs.

Recorded in every clip entry (:class:`storage.footage.FootageSource`) so a reviewer can
tell which camera filmed it. Nothing here may stop a recording: whatever cannot be read
is left ``""`` ("unknown"). The sysfs root is a parameter so tests read a fake tree.

Also how ffmpeg opens the camera in the mode the station negotiated (webcam capture,
:mod:`recorder.webcam`).
"""

from __future__ import annotations

import fcntl
import os
from fractions import Fraction
from pathlib import Path

from recorder._errors import SourceError
from storage.footage import FootageSource

__all__ = ["camera_source", "parse_querycap", "v4l2_input"]

# struct v4l2_capability (linux/videodev2.h): driver[16], card[32], bus_info[32], version,
# capabilities, device_caps, reserved[3]: 104 bytes. VIDIOC_QUERYCAP = _IOR('V', 0, it).
_CAP_SIZE = 104
_VIDIOC_QUERYCAP = (2 << 30) | (_CAP_SIZE << 16) | (ord("V") << 8) | 0
_MOST = 128


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()[:_MOST]


def parse_querycap(raw: bytes) -> tuple[str, str]:
    """(card, bus_info) of a ``struct v4l2_capability``."""
    if len(raw) < _CAP_SIZE:
        raise ValueError(f"v4l2_capability is {_CAP_SIZE} bytes, found {len(raw)}")
    return _cstr(raw[16:48]), _cstr(raw[48:80])


def _querycap(device: str) -> tuple[str, str]:
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return "", ""
    try:
        buf = bytearray(_CAP_SIZE)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, buf)
        return parse_querycap(bytes(buf))
    except OSError:
        return "", ""
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[:_MOST]
    except OSError:
        return ""


def _usb_serial(device_dir: Path) -> str:
    """The ``serial`` of the USB device above the video interface, if it has one."""
    try:
        here = device_dir.resolve()
    except OSError:
        return ""
    for parent in (here, *here.parents):
        if (parent / "idVendor").exists():
            return _read(parent / "serial")
    return ""


def camera_source(device: str, *, sysfs: Path = Path("/sys")) -> FootageSource:
    """What is known of the camera at ``device`` (``/dev/videoN``), now."""
    card, bus = _querycap(device)
    # /dev/v4l/by-id/... names are links to the /dev/videoN that sysfs knows.
    node = sysfs / "class" / "video4linux" / Path(os.path.realpath(device)).name
    card = card or _read(node / "name")
    return FootageSource(
        "camera", device=device, card=card, bus=bus, serial=_usb_serial(node / "device")
    )


# V4L2 fourcc (station.camera.fourcc) -> ffmpeg's -input_format.
_INPUT_FORMATS = {"MJPG": "mjpeg", "YUYV": "yuyv422", "H264": "h264", "NV12": "nv12"}


def v4l2_input(device: str, *, width: int, height: int, fps: Fraction, fourcc: str) -> list[str]:
    """ffmpeg's input options for a V4L2 camera in the mode the station negotiated."""
    found = _INPUT_FORMATS.get(fourcc.upper())
    if found is None:
        raise SourceError(
            f"camera {device}: ffmpeg capture needs fourcc one of {sorted(_INPUT_FORMATS)}, "
            f"found {fourcc!r}",
            hint="set station.camera.fourcc to MJPG (most webcams), or "
            "station.camera.capture: python",
        )
    return [
        "-f", "v4l2", "-input_format", found, "-video_size", f"{width}x{height}",
        "-framerate", str(fps), "-ts", "abs", "-i", device,
    ]  # fmt: skip
