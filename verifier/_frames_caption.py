"""When the station's burned-in caption names the clip's order, found in the pixels.

The station draws its caption (``REC  ORDER <id>``, ``REC  no order open``, ``ALARM ...``)
into every frame before encoding it (recorder/overlay.py), and switches it when it has
*handled* a scan: a camera scan counts once a second frame confirms it, and frames
already queued for the encoder are drawn with the new state. So the frame at an order
scan's time ``t`` shows the state before the order (the previous order, or no order),
and the caption names the order a fraction of a second later; after the clip ends, the
post-roll shows the next state. The sheet must not show a reviewer the wrong order
first, so keyframes are chosen inside the span where the caption names this order
(:func:`caption_span`).

Whether a caption names this order is decided by drawing it (:class:`Captions`), not by
reading it: the line must be red (``REC  ORDER``; "no order open" is white, alarms amber)
and fit ``REC  ORDER <this id>``, drawn with the overlay's font and geometry, better than
every rival over the columns where the two drawings differ: "no order open", and this id
with any one character replaced, dropped or appended (but for rivals drawn so alike that
a frame cannot tell them apart, ``SAME``). Another order's id differs from this one in
some character, and the rival that shares it fits that caption better. The drawings go
through 4:2:0 colour as the encoder's do: red text lives in the half-resolution chroma. A
count of differing pixels in the id's columns, tried first, let a one-digit-different id
pass as "the same" in 1 of 4 fresh recordings (a digit is ~20 px at 640x360, H.264 noise
up to 6), and a frame-to-frame change detector missed a switch between two ids that
differ in one digit; deciding every frame by drawing needs neither threshold.

Who drew the caption decides how it is drawn again (a :class:`Drawing`): OpenCV's
Hershey font (:class:`Hershey`) for a station that feeds ffmpeg its frames, ffmpeg's
drawtext with the station's own filter options (verifier/_frames_drawtext.py) for a
webcam captured by ffmpeg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from storage.caption import CaptionMetrics, caption_metrics

Image = npt.NDArray[np.uint8]
Reader = Callable[[Iterable[int]], dict[int, Image]]

_FONT = cv2.FONT_HERSHEY_SIMPLEX  # recorder/overlay.py's (the verifier cannot import it)
TEXT_LEVEL = 110  # above the darkened band's 63, below the caption's colours
_CHUNK = 24  # frames decoded at a time (a 720p frame is 2.7 MB)
_RED = (40, 40, 230)  # recorder/overlay.py's caption red (BGR)
# Rivals whose drawing correlates with this order's this well (NCC over the columns where
# they differ) cannot be told apart in a frame: Q for O 0.98, 6 for 8 0.96 at 640x360.
# Measured at 640x360 (crf 28) with them kept, this order's caption fitted such a rival
# better by up to 0.04 while a neighbouring order's (one digit apart: 0.66-0.77) fitted
# this order's worse by 0.01-0.2; so they are left out, and no rival left may fit better.
SAME = 0.85
# Order ids up to this long are compared (~1,500 rivals; a longer one runs off a 640 px
# caption line anyway).
MAX_CAPTION_ID = 40


def _measure(scale: float, thickness: int) -> tuple[int, int]:
    (_, text_h), base = cv2.getTextSize("Ag", _FONT, scale, thickness)
    return text_h, base


def metrics(width: int, height: int) -> CaptionMetrics:
    """The caption's geometry for a frame size, as the station computes it."""
    return caption_metrics(width, height, _measure)


def head_rows(width: int, height: int) -> int:
    """How many rows from the top hold the caption's first line, down to its baseline
    (OpenCV's drawing)."""
    m = metrics(width, height)
    return m.line_h - m.margin // 2 + 1


class Drawing(Protocol):
    """How a station drew its caption: the head line's rows from the top, and each text
    as that line shows it in a frame (the brightest channel, as float)."""

    rows: int
    same: float  # rivals drawn alike this well (NCC where they differ) are left out

    def lines(self, texts: Sequence[str]) -> list[npt.NDArray[np.float64]]: ...


@dataclass(frozen=True, slots=True)
class CaptionSpan:
    """Frames ``first`` .. ``last`` (inclusive) show the caption of this clip's order."""

    first: int
    last: int

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self.first <= index <= self.last


def names_an_order(image: Image, rows: int | None = None) -> bool:
    """Whether the caption's first line (``rows`` from the top; OpenCV's by default) is
    red: ``REC  ORDER …`` (``no order open`` is white, an alarm amber; recorder/overlay.py)."""
    height, width = image.shape[:2]
    line = image[: rows or head_rows(width, height)].astype(np.int32)
    text = line.max(axis=2) > TEXT_LEVEL
    if np.count_nonzero(text) < 20:
        return False
    b, g, r = (float(line[..., c][text].mean()) for c in range(3))
    return r > 1.6 * g and r > 1.6 * b


# Characters an order id's rival may put in one place: what order and tracking ids are
# made of (letters, digits, separators); others are drawn as '?' by Hershey fonts anyway.
_RIVAL_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_/."


class Hershey:
    """The caption as recorder/overlay.py draws it with OpenCV: its red on black, through
    the encoder's 4:2:0 colour (red text lives mostly in the half-resolution chroma, so
    it is blurred there), then the brightest channel."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = head_rows(width, height)
        self.same = SAME

    def lines(self, texts: Sequence[str]) -> list[npt.NDArray[np.float64]]:
        return [self._draw(text) for text in texts]

    def _draw(self, text: str) -> npt.NDArray[np.float64]:
        m, rows, width = metrics(self.width, self.height), self.rows, self.width
        # Only the line's rows (even, for 4:2:0, whose 2x2 blocks start at row 0 as the
        # frame's do): drawing whole frames made a 1,200-rival table take 1.4 s.
        image = np.zeros((rows + rows % 2, width + width % 2, 3), np.uint8)
        # The baseline is the line's last row (head_rows): the overlay's line_h - margin // 2.
        at = (m.margin, rows - 1)
        cv2.putText(image, text, at, _FONT, m.scale, _RED, m.thickness, cv2.LINE_AA)
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        back = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
        return np.asarray(back[:rows, :width].max(axis=2), np.float64)


class Captions:
    """Tells whether a frame's caption reads as one order (see the module docstring)."""

    def __init__(
        self, order_id: str, width: int, height: int, drawing: Drawing | None = None
    ) -> None:
        drawing = drawing or Hershey(width, height)
        self.rows = drawing.rows
        ids = {order_id[:i] + order_id[i + 1 :] for i in range(len(order_id))}
        for i in range(len(order_id) + 1):
            ids.update(order_id[:i] + c + order_id[i + 1 :] for c in _RIVAL_CHARS)
        ids.discard(order_id)
        rivals = ["REC  no order open", *(f"REC  ORDER {i}" for i in sorted(ids))]
        mine, *drawn = drawing.lines([f"REC  ORDER {order_id}", *rivals])
        found: list[tuple[int, int, npt.NDArray[np.float64]]] = []
        for rival in drawn:
            differ = np.flatnonzero(np.abs(rival - mine).max(axis=0) > 1.0)
            if differ.size:
                left, right = max(0, int(differ[0]) - 3), min(width, int(differ[-1]) + 4)
                a, b = _unit(mine[:, left:right]), _unit(rival[:, left:right])
                if float((a * b).sum()) < drawing.same:
                    found.append((left, right, a - b))
        self.left = min(left for left, _, _ in found)
        self.right = max(right for _, right, _ in found)
        # One weight row per rival: the difference of the two drawings over the columns
        # where they differ, each centred and normalised there, zero elsewhere. Its dot
        # product with a caption's line, over the norm of that line's centred slice, is
        # NCC(line, mine) - NCC(line, rival).
        span = self.right - self.left
        weights = np.zeros((len(found), self.rows, span), np.float32)
        for k, (left, right, w) in enumerate(found):
            weights[k, :, left - self.left : right - self.left] = w
        self._weights = weights.reshape(len(found), -1)
        self._from = np.array([left - self.left for left, _, _ in found])
        self._to = np.array([right - self.left for _, right, _ in found])

    def names(self, image: Image) -> bool:
        """Whether ``image``'s caption reads as ``REC  ORDER <this id>`` (with or without
        a waybill after it): red, and no rival fits it better."""
        if not names_an_order(image, self.rows):
            return False
        line = image[: self.rows, self.left : self.right].max(axis=2).astype(np.float64)
        dots = self._weights @ line.astype(np.float32).ravel()
        # Each rival's slice: its centred norm from column sums (prefix sums).
        s1 = np.concatenate([[0.0], np.cumsum(line.sum(axis=0))])
        s2 = np.concatenate([[0.0], np.cumsum((line * line).sum(axis=0))])
        n = (self._to - self._from) * self.rows
        total = s1[self._to] - s1[self._from]
        norm = np.sqrt(np.maximum(s2[self._to] - s2[self._from] - total * total / n, 1e-9))
        return bool((dots / norm > 0).all())


def _unit(part: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    centred = part - part.mean()
    return np.asarray(centred / (np.linalg.norm(centred) or 1.0))


def caption_span(
    read: Reader,
    captions: Captions,
    *,
    scan_index: int,
    end_index: int,
    last_index: int,
    fps: float,
) -> CaptionSpan | None:
    """Where the caption names the order: from the first frame that names it, from 1 s
    before ``scan_index`` (the order scan's frame), to the frame before the first that
    does not, from 4 s before ``end_index`` (the clip's end) on. None when no frame names
    it within 12 s of the scan."""
    lead = max(0, scan_index - round(fps))  # frames queued before the scan was handled
    window = min(last_index, scan_index + round(12 * fps))
    first = _first(read, range(lead, window + 1), captions.names)
    if first is None:
        return None
    # Frames captured before the clip's end may be drawn after the station closed it (the
    # encoder queue holds 2 s; recording a file as fast as possible keeps it full, and a
    # loaded machine adds to it): the caption can leave the order that early.
    lead_out = max(first, end_index - round(4 * fps))
    gone = _first(read, range(lead_out, last_index + 1), lambda image: not captions.names(image))
    last = last_index if gone is None else gone - 1
    return CaptionSpan(first, max(first, last))


def _first(read: Reader, indexes: range, test: Callable[[Image], bool]) -> int | None:
    """The first of ``indexes`` whose frame passes ``test``, decoding a chunk at a time."""
    for chunk in range(indexes.start, indexes.stop, _CHUNK):
        frames = read(range(chunk, min(indexes.stop, chunk + _CHUNK)))
        found = next((i for i in sorted(frames) if test(frames[i])), None)
        if found is not None:
            return found
    return None
