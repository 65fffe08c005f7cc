"""The burned-in caption: order, waybill, local time with zone, station, operator, REC
state and frame counter, drawn into the picture before it is encoded.

Burned in rather than muxed as metadata so that any copy, screenshot or re-encode a
marketplace makes still shows which order and when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import cv2

from recorder.sources import Image
from storage.caption import CaptionMetrics
from storage.caption import caption_metrics as storage_metrics

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_RED = (40, 40, 230)
_AMBER = (0, 190, 255)


@dataclass(frozen=True, slots=True)
class OverlayState:
    station: str
    operator: str = ""
    order_id: str | None = None
    tracking_id: str | None = None
    alarm: str | None = None


def _measure(scale: float, thickness: int) -> tuple[int, int]:
    (_, text_h), base = cv2.getTextSize("Ag", _FONT, scale, thickness)
    return text_h, base


def caption_metrics(width: int, height: int) -> CaptionMetrics:
    """The caption's geometry for a frame size (recorder/drawcaption.py draws to it too)."""
    return storage_metrics(width, height, _measure)


def caption_head(state: OverlayState) -> tuple[str, Literal["white", "red", "amber"]]:
    """The caption's first line and its colour."""
    if state.alarm:
        return f"ALARM {state.alarm}", "amber"
    if state.order_id:
        head = f"REC  ORDER {state.order_id}"
        if state.tracking_id:
            head += f"   WAYBILL {state.tracking_id}"
        return head, "red"
    if state.tracking_id:
        return f"REC  no order open   WAYBILL {state.tracking_id}", "white"
    return "REC  no order open", "white"


_BGR = {"white": _WHITE, "red": _RED, "amber": _AMBER}


class Overlay:
    """Draws into a frame in place; costs well under a millisecond at 720p (bench/record)."""

    def __init__(self, width: int, height: int, zone: dt.tzinfo) -> None:
        self.zone = zone
        m = caption_metrics(width, height)
        self.scale, self.thickness = m.scale, m.thickness
        self.line_h, self.band_h, self.margin = m.line_h, m.band_h, m.margin
        self._second = -1
        self._clock = ""

    def _time_text(self, t_ms: int) -> str:
        second = t_ms // 1000
        if second != self._second:
            local = dt.datetime.fromtimestamp(second, self.zone)
            self._clock = local.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)")
            self._second = second
        return self._clock

    def draw(self, image: Image, state: OverlayState, t_ms: int, frame_no: int) -> None:
        band = image[: self.band_h]
        band >>= 2  # darken, keep the picture readable under the caption
        x, y = self.margin, self.line_h - self.margin // 2
        head, colour = caption_head(state)
        color = _BGR[colour]
        cv2.putText(image, head, (x, y), _FONT, self.scale, color, self.thickness, cv2.LINE_AA)
        operator = f"  op {state.operator}" if state.operator else ""
        info = f"{self._time_text(t_ms)}  {state.station}{operator}  #{frame_no:07d}"
        cv2.putText(
            image,
            info,
            (x, y + self.line_h),
            _FONT,
            self.scale,
            _WHITE,
            self.thickness,
            cv2.LINE_AA,
        )
