"""Decode chosen frames of a clip file, addressed by capture time, and pick the keyframes
an evidence sheet shows.

A clip file is the init section followed by whole segments, and may be an excerpt (a
subset of the clip's segments). Which segment each fragment is, is decided by its
SHA-256, never by its position: an excerpt that starts at segment 5 shows segment 5's
times. A frame's capture time is interpolated inside its segment, whose entry gives the
capture times of its first frame and of just after its last
(``start + i * (end - start) / frames``), so times come from the signed entry, not from
the file's timestamps. Frame counts come from the file (the ``trun`` sample counts),
not from ``(end - start) * fps``, so a segment with a dropped frame still maps exactly.

Frames are read with OpenCV's FFmpeg backend by frame index, one fragment at a time:
the init section and the fragment holding the frame are copied to a temporary file and
decoded alone (every segment starts with an IDR frame). Seeking by frame index in the
whole file returned the right frame anywhere in a contiguous clip (demo, 432 frames,
starting mid-run), but the wrong one after a gap (a file missing some segments: 2 of 10
frames wrong), because OpenCV turns the index into a timestamp. Per fragment, a sheet of a
one-hour clip still costs the same as one of a minute: ~4 ms to open, ~1 ms a frame.

OpenCV is imported here and in the sheet, replay and derived-copy modules only:
verifying a bundle must not need it (ARCHITECTURE).
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import imageio_ffmpeg
import numpy as np
import numpy.typing as npt
import zxingcpp

from storage.caption import find_font
from storage.entries import Clip, Scan, SegmentRef
from verifier._errors import MediaFormatError
from verifier._frames_caption import MAX_CAPTION_ID, Captions, CaptionSpan, caption_span
from verifier._frames_drawtext import Drawtext
from verifier.fmp4 import Box, iter_boxes, split_fragments

__all__ = [
    "Image",
    "Keyframe",
    "PlacedSegment",
    "count_frames",
    "decode_file",
    "frames_at",
    "iter_frames",
    "locate_segments",
    "pick_keyframes",
    "read_frames",
]

Image = npt.NDArray[np.uint8]  # an OpenCV BGR frame, (height, width, 3)
Box4 = tuple[int, int, int, int]

_HINT = "the clip file must be the sealed clip (or an excerpt of whole segments) of this entry"
_SCAN_LABELS = {
    "order": "Order scan",
    "tracking": "Waybill scan",
    "other": "Product scan",
    "control": "Control scan",
}


@dataclass(frozen=True, slots=True)
class PlacedSegment:
    """One of the clip's segments as found in a clip file."""

    position: int  # index in ``clip.segments`` (segment k of N is position k-1)
    ref: SegmentRef
    first_frame: int  # index in the file of this segment's first frame
    frames: int  # frames in this fragment, from its ``trun`` sample counts

    def frame_time(self, i: int) -> int:
        """Capture time (ms) of this segment's frame ``i``."""
        # Rounded up, so that frame_at(frame_time(i)) == i with integer milliseconds.
        return self.ref.start - (-i * (self.ref.end - self.ref.start) // max(self.frames, 1))

    def frame_at(self, t_ms: int) -> int:
        """Index in this segment of the frame shown at ``t_ms`` (clamped to the segment)."""
        span = self.ref.end - self.ref.start
        if span <= 0:
            return 0
        return min(max((t_ms - self.ref.start) * self.frames // span, 0), self.frames - 1)

    def covers(self, t_ms: int) -> bool:
        return self.ref.start <= t_ms < self.ref.end


# eq=False: an ndarray field has no boolean equality.
@dataclass(frozen=True, slots=True, eq=False)
class Keyframe:
    t_ms: int  # capture time of the frame shown (ms since the epoch, UTC)
    label: str  # what it shows: "Order scan", "Packing", "Waybill scan", "Last frame"
    image: Image  # the decoded frame, BGR, burned-in caption included, boxes NOT drawn
    boxes: tuple[Box4, ...]  # scan boxes (x, y, w, h in frame pixels) in this frame
    detail: str = ""  # the scanned text, for scan keyframes
    frame_index: int = -1  # index of the frame in the clip file it was read from
    scans: tuple[Scan, ...] = field(default=())  # the scan this keyframe shows, if any
    view: str = ""  # the camera view it was read from; "" on a clip of one view


# -- where the clip's segments are in a file ------------------------------------------------


def _children(f: BinaryIO, box: Box) -> list[Box]:
    return list(iter_boxes(f, start=box.offset + box.header, end=box.end))


def _sample_count(f: BinaryIO, moof: Box) -> int:
    """Sum of the ``trun`` sample counts of a ``moof`` (ISO/IEC 14496-12 8.8.8)."""
    total = 0
    for traf in (b for b in _children(f, moof) if b.type == "traf"):
        for trun in (b for b in _children(f, traf) if b.type == "trun"):
            f.seek(trun.offset + trun.header + 4)  # after version + flags
            raw = f.read(4)
            if len(raw) != 4:
                raise MediaFormatError(
                    f"offset {trun.offset}: truncated 'trun' box", offset=trun.offset, box="trun"
                )
            total += struct.unpack(">I", raw)[0]
    return total


def locate_segments(clip: Clip, clip_path: Path) -> list[PlacedSegment]:
    """Which of ``clip``'s segments the file holds, in file order, with their frames.

    Raises :class:`MediaFormatError` if the file is not init + whole fragments, or holds a
    fragment that is none of the clip's segments (by SHA-256): footage that does not
    match the entry must not be shown as this clip's.
    """
    return _locate(clip.segments, f"clip {clip.clip_id}", clip_path)


def _locate(refs: Sequence[SegmentRef], what: str, clip_path: Path) -> list[PlacedSegment]:
    by_hash = {s.sha256: k for k, s in enumerate(refs)}
    placed: list[PlacedSegment] = []
    first = 0
    with open(clip_path, "rb") as f:
        layout = split_fragments(f)
        for n, rng in enumerate(layout.fragments):
            f.seek(rng.start)
            digest = hashlib.sha256(f.read(rng.size)).hexdigest()
            k = by_hash.get(digest)
            if k is None:
                raise MediaFormatError(
                    f"{clip_path}: fragment {n} at offset {rng.start} (sha256 {digest}) is "
                    f"not one of the {len(refs)} segments of {what}",
                    offset=rng.start,
                    hint=_HINT,
                )
            moof = next(b for b in iter_boxes(f, start=rng.start, end=rng.end) if b.type == "moof")
            frames = _sample_count(f, moof)
            placed.append(PlacedSegment(k, refs[k], first, frames))
            first += frames
    return placed


def count_frames(clip_path: Path) -> int:
    """Frames in a clip file (init + fragments), from its fragments' ``trun`` sample counts."""
    total = 0
    with open(clip_path, "rb") as f:
        for rng in split_fragments(f).fragments:
            moof = next(b for b in iter_boxes(f, start=rng.start, end=rng.end) if b.type == "moof")
            total += _sample_count(f, moof)
    return total


# -- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Geometry:
    width: int
    height: int
    fps: float
    frames: float  # OpenCV's estimate: for a sealed clip, count_frames() is exact


def geometry(path: Path) -> Geometry | None:
    """What OpenCV (FFmpeg backend) reads of a video file's size and rate; None if it cannot."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            return None
        return Geometry(
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(cap.get(cv2.CAP_PROP_FPS)),
            float(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        )
    finally:
        cap.release()


def read_frames(clip_path: Path, indexes: Iterable[int]) -> dict[int, Image]:
    """Decode the frames at these indexes (0 = the file's first frame), BGR.

    Each fragment that holds a wanted frame is decoded on its own (the init section plus
    that fragment, in a temporary file): see the module docstring for why. Raises
    :class:`MediaFormatError` if the file is not a clip or a frame cannot be decoded.
    """
    wanted = sorted(set(indexes))
    if wanted and wanted[0] < 0:
        raise ValueError(f"frame indexes must not be negative, got {wanted[0]}")
    out: dict[int, Image] = {}
    with open(clip_path, "rb") as f, tempfile.TemporaryDirectory(prefix="packseal-") as tmp:
        layout = split_fragments(f)
        f.seek(0)
        init = f.read(layout.init.size)
        first = 0
        for n, rng in enumerate(layout.fragments):
            moof = next(b for b in iter_boxes(f, start=rng.start, end=rng.end) if b.type == "moof")
            frames = _sample_count(f, moof)
            local = [i - first for i in wanted if first <= i < first + frames]
            if local:
                part = Path(tmp) / f"fragment-{n}.mp4"
                f.seek(rng.start)
                part.write_bytes(init + f.read(rng.size))
                for i, image in decode_file(part, local).items():
                    out[first + i] = image
            first += frames
    missing = [i for i in wanted if i not in out]
    if missing:
        raise MediaFormatError(
            f"{clip_path} has {first} frames; frame(s) {missing[:5]} could not be decoded",
            hint="the file may be truncated or damaged",
        )
    return out


def decode_file(path: Path, indexes: Iterable[int]) -> dict[int, Image]:
    """Decode the frames at these indexes of one contiguous video file, BGR.

    Frames that cannot be decoded are left out (the caller decides what that means).
    Raises :class:`MediaFormatError` if OpenCV cannot open the file at all.
    """
    # One decoding thread: a few frames of a short file do not fill FFmpeg's frame
    # threads, and callers decode several files side by side (measured in bench claim:
    # 16 two-second segments, 2 frames each, 0.85-0.98 s with FFmpeg's threads, 0.41-0.51
    # s one thread each, two files at a time; the same pixels).
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    try:
        if not cap.isOpened():
            raise MediaFormatError(
                f"OpenCV (FFmpeg backend) cannot open {path}", hint="is it an MP4 file?"
            )
        out: dict[int, Image] = {}
        position = 0  # index of the frame the next read() returns
        for index in sorted(set(indexes)):
            # Decoding forward beats a seek for short hops (~1 ms a frame vs ~12 ms).
            if not 0 <= index - position <= 8:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                position = index
            while position < index and cap.grab():
                position += 1
            ok, frame = cap.read()
            position += 1
            if not ok or frame is None:
                break
            out[index] = np.ascontiguousarray(frame, dtype=np.uint8)
        return out
    finally:
        cap.release()


def iter_frames(path: Path) -> Iterator[Image]:
    """Every frame of a video file, in order, BGR (nothing if OpenCV cannot open it)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            yield np.ascontiguousarray(frame, dtype=np.uint8)
    finally:
        cap.release()


# -- choosing keyframes -------------------------------------------------------------------

# A scan's ``t`` is when its code was first seen, but its ``box`` comes from the read that
# confirmed it, up to the scanner's confirm window later (recorder/scanner.py: 2000 ms by
# default, 10 s at most). A waybill slid under the camera is half in view at ``t`` and
# somewhere else by then, so a scan keyframe is the first frame in that window where the
# code reads inside its box; if none does, the frame at ``t``.
SCAN_SEARCH_MS = 2000


@dataclass(frozen=True, slots=True)
class _Want:
    priority: int
    t_ms: int
    label: str
    detail: str = ""
    last: bool = False  # the file's last frame, whatever its time
    scan: Scan | None = None


def _wanted(clip: Clip) -> list[_Want]:
    """Candidate moments, most important first."""
    order = next((s for s in clip.scans if s.kind == "order"), None)
    waybill = next((s for s in clip.scans if s.kind == "tracking"), None)
    t_order = order.t if order else clip.started
    t_end = waybill.t if waybill else clip.ended
    wants = [
        _Want(0, t_order, "Order scan", order.text if order else clip.order_id, scan=order),
        _Want(1, waybill.t, "Waybill scan", waybill.text, scan=waybill) if waybill else None,
        _Want(2, clip.end_ms, "Last frame", last=True),
        _Want(3, (t_order + t_end) // 2, "Packing"),
    ]
    # Then what else was scanned (a product barcode), then more of the packing.
    for s in clip.scans:
        if s is not order and s is not waybill and s.kind in ("other", "tracking"):
            wants.append(_Want(4, s.t, _SCAN_LABELS[s.kind], s.text, scan=s))
    wants += [
        _Want(5, t_order + (t_end - t_order) // 4, "Packing"),
        _Want(5, t_order + 3 * (t_end - t_order) // 4, "Packing"),
        _Want(6, clip.start_ms, "First frame"),
    ]
    return [w for w in wants if w is not None]


class _Timeline:
    """Frame indexes <-> capture times over the segments a file holds."""

    def __init__(self, placed: list[PlacedSegment]) -> None:
        self.placed = placed
        self.last_index = placed[-1].first_frame + placed[-1].frames - 1

    def index_at(self, t_ms: int) -> int | None:
        for p in self.placed:
            if p.covers(t_ms):
                return p.first_frame + p.frame_at(t_ms)
        return None

    def nearest(self, t_ms: int) -> int:
        """The frame shown at ``t_ms``, else the one closest in time (across a gap, or
        before the file's first frame and after its last)."""
        found = self.index_at(t_ms)
        if found is not None:
            return found
        edges = [(p.first_frame, p.ref.start) for p in self.placed]
        edges += [(p.first_frame + p.frames - 1, p.ref.end) for p in self.placed]
        return min(edges, key=lambda e: abs(e[1] - t_ms))[0]

    def time_of(self, index: int) -> int:
        for p in self.placed:
            if p.first_frame <= index < p.first_frame + p.frames:
                return p.frame_time(index - p.first_frame)
        raise ValueError(f"frame {index} is not in the file (0..{self.last_index})")


def _reads(gray: npt.NDArray[Any]) -> list[tuple[str, Box4]]:
    """Codes read in a grayscale image, with their boxes: zxing-cpp, then pyzbar.

    Both, as the station's scanner does: after H.264 the demo's EAN-13 product code
    reads with pyzbar in 26 consecutive frames and with zxing-cpp in 7.
    """
    found: list[tuple[str, Box4]] = []
    for b in zxingcpp.read_barcodes(gray):
        p = b.position
        xs = [c.x for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
        ys = [c.y for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
        found.append((b.text, (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))))
    try:  # libzbar is a system library; without it zxing-cpp alone decides
        from pyzbar import pyzbar
    except ImportError:
        return found
    for d in pyzbar.decode(gray):
        r = d.rect
        found.append((d.data.decode("utf-8", "replace"), (r.left, r.top, r.width, r.height)))
    return found


def _overlap(a: Box4, b: Box4) -> float:
    """How well two (x, y, w, h) boxes of one code agree: the overlap of their spans along
    x (intersection over union) if their centres are close vertically, else 0.

    Not a 2-D IoU: a decoder reports a linear code as the scan line it read (zxing-cpp:
    8 px high for a 30 px tall Code128, pyzbar: 26 px), so heights say little.
    """
    inter = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    union = max(a[0] + a[2], b[0] + b[2]) - min(a[0], b[0])
    dy = abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2))
    if inter <= 0 or union <= 0 or dy > max(a[3], b[3], 16):
        return 0.0
    return inter / union


def _box_match(image: Image, scan: Scan) -> float:
    """How well ``scan``'s code, read in this frame, lines up with the scan's box."""
    assert scan.box is not None
    _, y, _, h = scan.box
    # A full-width band around the box: zbar missed the demo's EAN-13 in every tight crop
    # around its box (it reads along scan lines and needs the whole symbol in view) and
    # read it in every band, at ~4 ms a 640 px frame for both decoders.
    pad = max(32, h)
    y0 = max(0, y - pad)
    band = image[y0 : y + h + pad]
    if band.size == 0:
        return 0.0
    best = 0.0
    for text, (bx, by, bw, bh) in _reads(cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)):
        if text == scan.text:
            best = max(best, _overlap(scan.box, (bx, y0 + by, bw, bh)))
    return best


def _frame_with_box(
    clip_path: Path, timeline: _Timeline, scan: Scan, index: int, until_ms: int
) -> tuple[int, Image] | None:
    """The first frame from ``index`` to ``until_ms`` where the code reads at the box
    (overlap >= 0.8), else the best match above 0.4 in the window, else None."""
    stop = index
    while stop < timeline.last_index and timeline.time_of(stop + 1) <= until_ms:
        stop += 1
    frames = read_frames(clip_path, range(index, stop + 1))
    best, best_index = 0.4, -1
    for i in range(index, stop + 1):
        match = _box_match(frames[i], scan)
        if match >= 0.8:
            return i, frames[i]
        if match > best:
            best, best_index = match, i
    return (best_index, frames[best_index]) if best_index >= 0 else None


def pick_keyframes(
    clip: Clip, clip_path: Path, *, max_frames: int = 6, scan_search_ms: int = SCAN_SEARCH_MS
) -> list[Keyframe]:
    """The frames a sheet shows: the order scan, the packing, the waybill scan, the last
    frame, then other scans and more packing up to ``max_frames``, in time order.

    Moments the file does not cover (an excerpt) are skipped. A scan keyframe is the
    frame where its code reads inside its box (see ``SCAN_SEARCH_MS``) and carries that
    box. Raises :class:`MediaFormatError` if the file does not match the clip (see
    :func:`locate_segments`) or cannot be decoded.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    placed = [p for p in locate_segments(clip, clip_path) if p.frames > 0]
    if not placed:
        raise MediaFormatError(f"{clip_path} holds no video frames", hint=_HINT)
    timeline = _Timeline(placed)

    chosen: dict[int, _Want] = {}
    for want in sorted(_wanted(clip), key=lambda w: w.priority):
        index = timeline.last_index if want.last else timeline.index_at(want.t_ms)
        if index is None or index in chosen:
            continue
        chosen[index] = want
        if len(chosen) == max_frames:
            break

    images = read_frames(clip_path, chosen)
    for index, want in list(chosen.items()):
        if want.scan is None or want.scan.box is None:
            continue
        until = want.scan.t + scan_search_ms
        found = _frame_with_box(clip_path, timeline, want.scan, index, until)
        if found is not None and found[0] not in chosen:
            del chosen[index]
            chosen[found[0]] = want
            images[found[0]] = found[1]
    captions = _captions(clip)
    if captions is not None:
        span = _order_caption(clip, clip_path, timeline, captions)
        if span is not None:
            _name_this_order(clip_path, timeline, chosen, images, span, scan_search_ms)
        for index, want in list(chosen.items()):
            # Whatever moved or not: a keyframe that does not show this order says so.
            if "(" not in want.label and not captions.names(images[index]):
                chosen[index] = replace(want, label=f"{want.label} {NOT_THIS_ORDER}")

    keyframes = []
    for index in sorted(chosen):
        want = chosen[index]
        scans = (want.scan,) if want.scan is not None else ()
        keyframes.append(
            Keyframe(
                t_ms=timeline.time_of(index),
                label=want.label,
                image=images[index],
                boxes=tuple(s.box for s in scans if s.box is not None),
                detail=want.detail,
                frame_index=index,
                scans=scans,
            )
        )
    return keyframes


def frames_at(
    segments: Sequence[SegmentRef], clip_path: Path, moments: Sequence[Keyframe], view: str
) -> list[Keyframe]:
    """The frames of another camera view at the moments ``moments`` show (the keyframes
    :func:`pick_keyframes` chose in the primary view), in the same order and labels.

    ``segments`` are this view's in the clip entry, ``clip_path`` its file (init + whole
    segments): both views are cut to one clip, their frames at the same capture times
    (each segment's times are signed in the entry). A moment the view has no
    frame at (a camera lost on this view only) shows the frame closest in time, with its
    own time. Scan boxes are the primary camera's and are not drawn here. Raises what
    :func:`locate_segments` and :func:`read_frames` raise.
    """
    placed = [p for p in _locate(segments, f"view {view}", clip_path) if p.frames > 0]
    if not placed:
        raise MediaFormatError(f"{clip_path} (view {view!r}) holds no video frames", hint=_HINT)
    timeline = _Timeline(placed)
    # The moment's capture time, even for "Last frame": the primary view may have moved
    # it to the last frame whose caption names the order.
    indexes = [timeline.nearest(m.t_ms) for m in moments]
    images = read_frames(clip_path, indexes)
    return [
        Keyframe(
            t_ms=timeline.time_of(index),
            # The primary view's caption check (why its frame moved) is not about this one.
            label=m.label.partition(" (")[0],
            image=images[index],
            boxes=(),
            detail=m.detail,
            frame_index=index,
            view=view,
        )
        for m, index in zip(moments, indexes, strict=True)
    ]


# -- keyframes whose caption names this order (verifier/_frames_caption.py) ----------------------


# What a clip's Video.encoder says when its caption was drawn by ffmpeg (recorder/station.py).
DRAWTEXT = "caption by ffmpeg drawtext"
# The label's words when a keyframe's burned-in caption does not read as this order.
NOT_THIS_ORDER = "(burned-in caption does not read as this order)"


def _captions(clip: Clip) -> Captions | None:
    # An id too long for the caption line (the frame clips it) cannot be compared; its
    # keyframes keep their first choice and plain labels.
    if not 0 < len(clip.order_id) <= MAX_CAPTION_ID:
        return None
    if DRAWTEXT in clip.video.encoder:
        # Burned in by ffmpeg's drawtext (webcam capture): drawn again by drawtext, with
        # the station's filter options (verifier/_frames_drawtext.py).
        width, height = clip.video.width, clip.video.height
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        drawing = Drawtext(width, height, find_font(), ffmpeg)
        return Captions(clip.order_id, width, height, drawing)
    return Captions(clip.order_id, clip.video.width, clip.video.height)


def _order_caption(
    clip: Clip, clip_path: Path, timeline: _Timeline, captions: Captions
) -> CaptionSpan | None:
    order = next((s for s in clip.scans if s.kind == "order"), None)
    scan_index = timeline.index_at(order.t if order else clip.started)
    if scan_index is None:  # an excerpt without the order scan: nothing to anchor on
        return None
    end_index = timeline.index_at(clip.ended)
    fps = clip.video.fps_num / clip.video.fps_den
    return caption_span(
        lambda wanted: read_frames(clip_path, wanted),
        captions,
        scan_index=scan_index,
        end_index=timeline.last_index + 1 if end_index is None else end_index,
        last_index=timeline.last_index,
        fps=fps,
    )


def _name_this_order(
    clip_path: Path,
    timeline: _Timeline,
    chosen: dict[int, _Want],
    images: dict[int, Image],
    span: CaptionSpan,
    search_ms: int,
) -> None:
    """Move keyframes into the span whose caption names the order, or say why not.

    The order scan moves to the first frame after the switch where its code still reads
    in its box; if the code is gone by then, it stays and its label says the caption
    still shows the state before the order. Packing frames move inside the span; the
    last frame becomes the last one before the caption moves on (post-roll); the first
    frame (pre-roll) and other scans outside it stay, labelled as such.
    """
    for index, want in sorted(chosen.items()):
        if index in span:
            continue
        del chosen[index]
        target, label = index, want.label
        if want.scan is not None and want.scan.kind == "order" and index < span.first:
            found = None
            if want.scan.box is not None:
                until = timeline.time_of(span.first) + search_ms
                found = _frame_with_box(clip_path, timeline, want.scan, span.first, until)
            if found is not None and found[0] in span and found[0] not in chosen:
                target = found[0]
                images[target] = found[1]
            else:
                label = f"{want.label} (caption not yet switched to this order)"
        elif want.last:
            target = span.last
        elif want.scan is None and want.label == "Packing":
            target = min(max(index, span.first), span.last)
        elif index < span.first:
            label = f"{want.label} (pre-roll, before this order)"
        else:
            label = f"{want.label} (post-roll, after this order)"
        if target in chosen:
            continue  # the span already shows that moment
        chosen[target] = replace(want, label=label)
    missing = [i for i in chosen if i not in images]
    if missing:
        images.update(read_frames(clip_path, missing))
