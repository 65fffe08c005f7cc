"""The station screen's live picture (packseal/web/_preview.py), without a station."""

from __future__ import annotations

import cv2
import numpy as np

from packseal.web._preview import READ_COLOUR, render
from recorder.scanner import Decoded, Reads
from recorder.sources import Frame


def test_a_gray_scan_frame_is_shown_with_the_reads_in_colour() -> None:
    """ffmpeg capture hands the scanner gray frames; the preview draws them, boxes green."""
    gray = np.full((540, 960), 128, np.uint8)
    read = Decoded("ORD-1", "Code128", (100, 100, 200, 80), "zxing")
    jpeg = render(Frame(gray, 1000, 5), Reads(1000, (read,)), None)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (540, 960, 3)
    edge = image[140, 101].astype(int)  # on the box's left edge
    assert np.abs(edge - np.array(READ_COLOUR)).max() < 40, edge
    assert np.ptp(image[300, 600].astype(int)) < 4  # the picture itself: gray
