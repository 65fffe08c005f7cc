"""The station screen's live picture: the newest camera frame as a JPEG, with the scan zone
and the boxes of the codes the scanner just read drawn on it.

Drawn here, not in the browser, so what the packer sees is exactly what the scanner was
given. Each frame is encoded once however many screens watch it.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from recorder.scanner import Reads
from recorder.sources import Frame

MAX_WIDTH = 960  # enough for a station monitor; a 1080p frame would cost 4x to encode
JPEG_QUALITY = 72
READS_FRESH_MS = 1500  # boxes older than this are gone from the table: do not draw them
ZONE_COLOUR = (255, 200, 0)  # BGR: cyan-ish blue, apart from the green of a read
READ_COLOUR = (80, 220, 40)


def render(
    frame: Frame,
    reads: Reads | None,
    zone: tuple[float, float, float, float] | None,
) -> bytes:
    height, width = frame.image.shape[:2]
    scale = min(1.0, MAX_WIDTH / width)
    image: Any = (
        cv2.resize(
            frame.image,
            (round(width * scale), round(height * scale)),
            interpolation=cv2.INTER_AREA,
        )
        if scale < 1.0
        else frame.image.copy()
    )
    if image.ndim == 2:  # ffmpeg capture hands the scanner gray frames: boxes in colour
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    thick = max(2, round(image.shape[1] / 320))
    if zone is not None:
        x, y, w, h = zone
        top_left = (round(x * width * scale), round(y * height * scale))
        bottom_right = (round((x + w) * width * scale), round((y + h) * height * scale))
        _dashed_rect(image, top_left, bottom_right, ZONE_COLOUR, thick)
        cv2.putText(
            image,
            "scan zone",
            (top_left[0] + 6, top_left[1] + 22),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            ZONE_COLOUR,
            2,
            cv2.LINE_AA,
        )
    if reads is not None and abs(frame.t_ms - reads.t_ms) <= READS_FRESH_MS:
        for item in reads.items:
            bx, by, bw, bh = (round(v * scale) for v in item.box)
            cv2.rectangle(image, (bx, by), (bx + bw, by + bh), READ_COLOUR, thick)
            label = item.text[:32]
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
            ly = max(th + 6, by - 6)
            cv2.rectangle(image, (bx, ly - th - 6), (bx + tw + 8, ly + 4), READ_COLOUR, -1)
            cv2.putText(
                image,
                label,
                (bx + 4, ly),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.55,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return bytes(np.asarray(data).tobytes())


def _dashed_rect(
    image: Any,
    a: tuple[int, int],
    b: tuple[int, int],
    colour: tuple[int, int, int],
    thick: int,
    dash: int = 14,
) -> None:
    (x0, y0), (x1, y1) = a, b
    for x in range(x0, x1, dash * 2):
        cv2.line(image, (x, y0), (min(x + dash, x1), y0), colour, thick)
        cv2.line(image, (x, y1), (min(x + dash, x1), y1), colour, thick)
    for y in range(y0, y1, dash * 2):
        cv2.line(image, (x0, y), (x0, min(y + dash, y1)), colour, thick)
        cv2.line(image, (x1, y), (x1, min(y + dash, y1)), colour, thick)


class PreviewCache:
    """The JPEG of the newest frame, encoded at most once per frame."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: int | None = None
        self._jpeg = b""

    def get(
        self,
        frame: Frame,
        reads: Reads | None,
        zone: tuple[float, float, float, float] | None,
    ) -> bytes:
        with self._lock:
            if self._index != frame.index:
                self._jpeg = render(frame, reads, zone)
                self._index = frame.index
            return self._jpeg
