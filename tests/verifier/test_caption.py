"""Keyframes whose burned-in caption names the clip's order (verifier/_frames_caption.py).

The oracle is the station's own overlay: a keyframe names order X when the caption
"REC  ORDER X", drawn by recorder/overlay.py (the code that burned it in) and passed
through 4:2:0 colour as the encoder does, fits its caption line better than "no order
open" and than every other order of the recording, where the drawings differ.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from recorder.overlay import Overlay, OverlayState
from storage.entries import Clip
from tests.verifier.test_sheet import Recorded, recorded  # noqa: F401
from verifier._frames_caption import head_rows
from verifier.frames import (
    SCAN_SEARCH_MS,
    Image,
    Keyframe,
    _captions,
    _frame_with_box,
    _order_caption,
    _Timeline,
    locate_segments,
    pick_keyframes,
)


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720), (1920, 1080)])
def test_the_caption_geometry_is_the_overlays(width: int, height: int) -> None:
    overlay = Overlay(width, height, dt.UTC)
    assert head_rows(width, height) == overlay.line_h - overlay.margin // 2 + 1


def _drawn(image: Image, station: str, order_id: str | None, tracking: str | None) -> Image:
    """The caption line the station draws for this state, on black, at the frame's size."""
    height, width = image.shape[:2]
    drawn = np.zeros_like(image)
    state = OverlayState(station, order_id=order_id, tracking_id=tracking)
    Overlay(width, height, dt.UTC).draw(drawn, state, 0, 0)
    yuv = cv2.cvtColor(drawn, cv2.COLOR_BGR2YUV_I420)  # red text lives in the chroma
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)[: head_rows(width, height)]


def _fits_better(image: Image, mine: Image, rival: Image) -> bool:
    """Whether the keyframe's caption line correlates better with ``mine`` than with
    ``rival``, over the columns where the two differ (one digit, for two order ids)."""
    differ = np.flatnonzero((mine != rival).any(axis=(0, 2)))
    if differ.size == 0:
        return False
    left, right = max(0, differ[0] - 3), differ[-1] + 4

    def line(img: Image) -> npt.NDArray[np.float64]:
        gray = img[: mine.shape[0], left:right].max(axis=2).astype(np.float64)
        return np.asarray(gray - gray.mean())

    seen = line(image)

    def ncc(drawn: Image) -> float:
        d = line(drawn)
        return float((seen * d).sum() / (np.sqrt((seen * seen).sum() * (d * d).sum()) or 1))

    return ncc(mine) > ncc(rival)


def _names(keyframe: Keyframe, clip: Clip, others: list[str]) -> bool:
    """The caption of this order (with or without its waybill) fits the keyframe better
    than "no order open" and than any other order's caption, where they differ."""
    image = keyframe.image
    for tracking in (None, *clip.tracking_ids):
        mine = _drawn(image, clip.station, clip.order_id, tracking)
        rivals = [_drawn(image, clip.station, None, None)]
        rivals += [_drawn(image, clip.station, o, tracking) for o in others]
        if all(_fits_better(image, mine, r) for r in rivals):
            return True
    return False


def test_every_keyframe_names_this_order_or_says_why_not(
    recorded: Recorded,  # noqa: F811
) -> None:
    # clip 0 starts from "no order open"; clips 1 and 2 follow another order, and the
    # clips before this fix showed the state before the order on the order scan (and the
    # next order on the last frame: the post-roll)
    plain = 0
    for n, clip in enumerate(recorded.clips):
        path = recorded.write_clip(clip, f"c{n}.mp4")
        keyframes = pick_keyframes(clip, path)
        others = [c.order_id for c in recorded.clips if c is not clip]
        scan = next(k for k in keyframes if k.label.startswith("Order scan"))
        if scan.label != "Order scan":
            # The station read the pick list as it slid in; by the time the caption
            # switched, the list lay elsewhere (or was gone): no frame shows the code
            # at its box and the new caption, so the keyframe stays and says so.
            assert scan.label == "Order scan (caption not yet switched to this order)"
            assert _no_frame_after_the_switch_reads_it(clip, path), n
        plain += scan.label == "Order scan"
        for k in keyframes:
            if "(" in k.label:  # says plainly why its caption does not name the order
                assert "this order)" in k.label, (n, k.label)
            else:
                assert _names(k, clip, others), (n, k.label, k.t_ms)
    assert plain >= 2, "most order scans move to a frame that names the order"


def _no_frame_after_the_switch_reads_it(clip: Clip, path: Path) -> bool:
    timeline = _Timeline([p for p in locate_segments(clip, path) if p.frames > 0])
    captions = _captions(clip)
    assert captions is not None
    span = _order_caption(clip, path, timeline, captions)
    assert span is not None
    order = next(s for s in clip.scans if s.kind == "order")
    until = timeline.time_of(span.first) + SCAN_SEARCH_MS
    found = _frame_with_box(path, timeline, order, span.first, until)
    return found is None or found[0] not in span


def test_an_excerpt_without_the_order_scan_keeps_its_keyframes(
    recorded: Recorded,  # noqa: F811
) -> None:
    clip = recorded.clips[1]
    path = recorded.write_clip(clip, "late.mp4", segments=[5, 6, 7])
    keyframes = pick_keyframes(clip, path)
    assert keyframes
    assert all(isinstance(k.image, np.ndarray) for k in keyframes)
