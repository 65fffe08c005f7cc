"""A second camera view for tests, made of real footage: the primary view's frames,
mirrored, tinted and labelled, encoded by the station's own encoder (ffmpeg, libx264,
HLS fMP4 on the same segment grid), so each of its segments covers the same capture
times as the primary view's segment in the same place.

Used until the two-camera station records both views itself; the result is what a
second camera would have sealed: an init section and one fragment per segment.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from recorder.encoder import INIT_NAME, Encoder, list_closed_segments, to_i420
from recorder.settings import EncoderSettings
from storage.entries import Clip, ClipView, SegmentRef
from verifier.frames import Image, iter_frames, locate_segments


@dataclass(frozen=True)
class ViewFootage:
    init: bytes
    segments: list[bytes]  # one fragment per primary segment, in order
    refs: tuple[SegmentRef, ...]  # with the primary's seq numbers and capture times

    def write(self, path: Path) -> Path:
        """The view's clip file: init + every segment."""
        path.write_bytes(self.init + b"".join(self.segments))
        return path


    def bind(self, clip: Clip, primary: str, view: str) -> Clip:
        """``clip`` with this footage as its further view ``view`` (unsigned: for code
        that reads an entry, not for verify). Segment numbers are station-wide, so the
        view's are moved past the primary's."""
        past = clip.segments[-1].seq + 1
        refs = tuple(dataclasses.replace(r, seq=past + n) for n, r in enumerate(self.refs))
        init = hashlib.sha256(self.init).hexdigest()
        other = ClipView(view, f"{clip.run}-{view}", init, refs, clip.video)
        return dataclasses.replace(clip, view=primary, views=(other,))


def side_view(clip: Clip, clip_path: Path, work: Path, *, label: str = "SIDE") -> ViewFootage:
    """Encode a second view of the whole clip file ``clip_path`` (init + all segments)."""
    placed = locate_segments(clip, clip_path)
    frames = list(iter_frames(clip_path))
    height, width = frames[0].shape[:2]
    video = clip.video
    settings = EncoderSettings(segment_seconds=max(1, video.segment_ms // 1000), preset="ultrafast")
    encoder = Encoder.start(settings, width, height, Fraction(video.fps_num, video.fps_den), work)
    for image in frames:
        other: Image = np.ascontiguousarray(cv2.flip(image, 1), dtype=np.uint8)
        other[:, :, 0] = other[:, :, 0] // 2 + 60  # bluish: not the primary's picture
        cv2.putText(
            other, label, (16, height - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 3
        )
        encoder.write(to_i420(other))
    encoder.close()
    closed = list_closed_segments(work)
    if len(closed) != len(placed):
        raise AssertionError(f"the side view has {len(closed)} segments, the clip {len(placed)}")
    segments = [c.path.read_bytes() for c in closed]
    refs = tuple(
        SegmentRef(p.ref.seq, hashlib.sha256(data).hexdigest(), p.ref.start, p.ref.end, len(data))
        for p, data in zip(placed, segments, strict=True)
    )
    return ViewFootage((work / INIT_NAME).read_bytes(), segments, refs)
