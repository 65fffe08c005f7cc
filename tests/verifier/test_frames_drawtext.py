"""The keyframe check on a caption burned in by ffmpeg's drawtext (webcam capture): this
order's caption and its rivals drawn again by drawtext (verifier/_frames_drawtext.py),
read from a real capture run of the webcam-like camera (tests/webcam.py)."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from recorder.clock import SystemClock
from recorder.copyrun import ScanGeometry
from recorder.drawcaption import CaptionFiles
from recorder.encoder import ffmpeg_path
from recorder.overlay import OverlayState
from recorder.settings import EncoderSettings
from recorder.webcam import WebcamRun
from storage.caption import find_font
from tests.recording import SIZE
from tests.rtspcam import wait_for
from tests.webcam import FakeWebcam
from verifier._errors import MediaFormatError
from verifier._frames_caption import Captions, Hershey
from verifier._frames_drawtext import Drawtext

W, H = SIZE["width"], SIZE["height"]
ORDER = "SO-100234"
RIVAL = "SO-100284"  # one digit apart: another order of the same day


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """The decoded frames of a real capture run: "no order open", then ORDER."""
    tmp = tmp_path_factory.mktemp("drawtext")
    camera = FakeWebcam(tmp / "cam.sock", size=(W, H), testsrc=4)
    caption = CaptionFiles(tmp / "caption")
    caption.start(OverlayState("station-01"))
    settings = EncoderSettings()
    run = WebcamRun.capture(
        "run1", tmp, camera.ffmpeg_input(), ffmpeg=ffmpeg_path(settings), settings=settings,
        fps=Fraction(30), width=W, height=H, scan=ScanGeometry.of(W, H, 320, 5.0),
        caption=caption, zone="UTC", gap_reason="restart",
    )  # fmt: skip
    clock, seen = SystemClock(), [0]

    def scan_frames() -> None:  # read as the station reads them (ffmpeg must not block)
        while run.read_frame(clock) is not None:
            seen[0] += 1

    reader = threading.Thread(target=scan_frames, daemon=True)
    reader.start()
    try:
        wait_for(lambda: seen[0] >= 6, 30, "scan frames")
        caption.show(OverlayState("station-01", order_id=ORDER, tracking_id="YT123"))
        wait_for(lambda: seen[0] >= 18, 30, "more scan frames")
    finally:
        run.finish()
        camera.stop()
        reader.join(10)
    run.watch(clock)
    clip = tmp / "clip.mp4"
    segments = [s.path.read_bytes() for s, _ in run.closed_segments()]
    clip.write_bytes(run.init_path.read_bytes() + b"".join(segments))
    cap = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG)
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    return frames


def _drawtext() -> Drawtext:
    return Drawtext(W, H, find_font(), ffmpeg_path(EncoderSettings()))


def test_a_drawtext_caption_reads_as_its_order_and_not_as_a_one_digit_rival(
    captured: list[np.ndarray],
) -> None:
    mine = Captions(ORDER, W, H, _drawtext())
    rival = Captions(RIVAL, W, H, _drawtext())
    named = [mine.names(f) for f in captured]
    assert not named[0]  # "no order open"
    switch = named.index(True)
    # once switched, every frame reads as this order, none as the rival
    assert all(named[switch:]), named
    assert not any(rival.names(f) for f in captured)
    assert len(captured) - switch >= 10
    # OpenCV's drawing of the same caption does not fit drawtext's: what the sheet did
    # before (every keyframe "does not read as this order")
    assert not any(Captions(ORDER, W, H, Hershey(W, H)).names(f) for f in captured[switch:])


def test_the_drawings_are_the_stations_filter(tmp_path: Path) -> None:
    drawing = _drawtext()
    lines = drawing.lines([f"REC  ORDER {ORDER}", f"REC  ORDER {RIVAL}", "a:b\\c'd%{pts};[x]"])
    assert all(line.shape == (drawing.rows, W) for line in lines)
    assert np.abs(lines[0] - lines[1]).max() > 100  # the digit
    assert (lines[2] > 100).any()  # escaped, drawn literally (no error)
    # (a font file drawtext cannot read is no error: it falls back to fontconfig's)
    for bad in (
        Drawtext(W, H, None, "/bin/false"),
        Drawtext(W, H, None, str(tmp_path / "no-ffmpeg")),
    ):
        with pytest.raises(MediaFormatError, match="caption lines") as error:
            bad.lines(["x"])
        assert error.value.hint
