"""Two camera views for tests, made of real footage.

:func:`side_view` makes a second view of a clip file: the primary view's frames,
mirrored, tinted and labelled, encoded by the station's own encoder (ffmpeg, libx264,
HLS fMP4 on the same segment grid), so each of its segments covers the same capture
times as the primary's segment in the same place.

:func:`two_view_store` seals a one-camera demo recording again as a two-camera station
would (``top`` and ``side``): through the store's own append and blob APIs, with every
segment entry naming its view, segment numbers station-wide (the views interleave), and
each clip entry binding both views' segments under one signature. Used until the
two-camera station records both views itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from packseal.app import App
from recorder.encoder import INIT_NAME, Encoder, list_closed_segments, to_i420
from recorder.settings import EncoderSettings
from storage import ClipQuery, SegmentRow, Store
from storage.entries import Clip, ClipView, Segment, SegmentRef, parse_as
from tests.recording import Recording, make_app
from verifier.frames import Image, iter_frames, locate_segments

PRIMARY, SIDE = "top", "side"


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


def _encode(frames: list[Image], fps: Fraction, segment_ms: int, work: Path, label: str) -> Path:
    height, width = frames[0].shape[:2]
    settings = EncoderSettings(segment_seconds=max(1, segment_ms // 1000), preset="ultrafast")
    encoder = Encoder.start(settings, width, height, fps, work)
    for image in frames:
        other: Image = np.ascontiguousarray(cv2.flip(image, 1), dtype=np.uint8)
        other[:, :, 0] = other[:, :, 0] // 2 + 60  # bluish: not the primary's picture
        cv2.putText(
            other, label, (16, height - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 3
        )
        encoder.write(to_i420(other))
    encoder.close()
    return work


def side_view(clip: Clip, clip_path: Path, work: Path, *, label: str = "SIDE") -> ViewFootage:
    """Encode a second view of the whole clip file ``clip_path`` (init + all segments)."""
    placed = locate_segments(clip, clip_path)
    video = clip.video
    fps = Fraction(video.fps_num, video.fps_den)
    _encode(list(iter_frames(clip_path)), fps, video.segment_ms, work, label)
    closed = list_closed_segments(work)
    if len(closed) != len(placed):
        raise AssertionError(f"the side view has {len(closed)} segments, the clip {len(placed)}")
    segments = [c.path.read_bytes() for c in closed]
    refs = tuple(
        SegmentRef(p.ref.seq, hashlib.sha256(data).hexdigest(), p.ref.start, p.ref.end, len(data))
        for p, data in zip(placed, segments, strict=True)
    )
    return ViewFootage((work / INIT_NAME).read_bytes(), segments, refs)


def _run_side(store: Store, run: list[SegmentRow], clip: Clip, work: Path) -> list[bytes]:
    """A side view of a whole encoder run: init + one fragment per segment."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "run.mp4"
    with open(path, "wb") as f:
        f.write(store.read_blob(run[0].init))
        for s in run:
            f.write(store.read_blob(s.sha256))
    video = clip.video
    fps = Fraction(video.fps_num, video.fps_den)
    _encode(list(iter_frames(path)), fps, video.segment_ms, work / "side", "SIDE")
    closed = list_closed_segments(work / "side")
    if len(closed) != len(run):
        raise AssertionError(f"the side run has {len(closed)} segments, the run {len(run)}")
    return [(work / "side" / INIT_NAME).read_bytes(), *(c.path.read_bytes() for c in closed)]


def two_view_store(source: Recording, data_dir: Path, work: Path) -> App:
    """A new station (its own keys and log) holding ``source``'s clips filmed by two
    cameras: ``top`` (the recorded footage) and ``side`` (:func:`_run_side`)."""
    return seal_two_views(source.app.store, make_app(data_dir), work)


def seal_two_views(src: Store, app: App, work: Path) -> App:
    """Seal ``src``'s footage into ``app``'s empty log as a two-camera station would."""
    rows = sorted(src.clips(ClipQuery(limit=100)), key=lambda r: r.start_ms)
    clips = [parse_as(Clip, src.entry(r.idx)) for r in rows]
    store, signer = app.store, app.station_signer
    runs: dict[str, list[SegmentRow]] = {}
    for s in src.segments(0, 10**9):
        runs.setdefault(s.run, []).append(s)
    seq = 0
    moved: dict[int, tuple[SegmentRef, SegmentRef]] = {}  # old seq -> (top, side)
    inits: dict[str, str] = {}  # the side view's init, by run
    for n, (run, segments) in enumerate(sorted(runs.items(), key=lambda r: r[1][0].seq)):
        owner = next(c for c in clips if c.run == run)
        side = _run_side(src, segments, owner, work / f"run-{n}")
        side_init = store.put_blob_bytes(side[0], segments[0].start_ms).sha256
        inits[run] = side_init
        entries: list[Segment] = []
        for s, data in zip(segments, side[1:], strict=True):
            blob = store.put_blob_bytes(data, s.end_ms)
            store.put_blob_bytes(src.read_blob(s.sha256), s.end_ms)
            for view, sha, init, size in (
                (PRIMARY, s.sha256, s.init, s.bytes),
                (SIDE, blob.sha256, side_init, blob.size),
            ):
                entries.append(
                    Segment(
                        time=s.end_ms + 300,
                        seq=seq,
                        run=f"{run}-{view}",
                        index=s.run_index,
                        sha256=sha,
                        init=init,
                        start=s.start_ms,
                        end=s.end_ms,
                        frames=s.frames,
                        dropped=s.dropped,
                        bytes=size,
                        view=view,
                    )
                )
                seq += 1
            top, other = entries[-2], entries[-1]
            moved[s.seq] = (
                SegmentRef(top.seq, top.sha256, top.start, top.end, top.bytes),
                SegmentRef(other.seq, other.sha256, other.start, other.end, other.bytes),
            )
        store.put_blob_bytes(src.read_blob(segments[0].init), segments[0].start_ms)
        store.append(entries)
    for clip in clips:
        top = tuple(moved[r.seq][0] for r in clip.segments)
        side = tuple(moved[r.seq][1] for r in clip.segments)
        other = ClipView(SIDE, f"{clip.run}-{SIDE}", inits[clip.run], side, clip.video, clip.source)
        entry = dataclasses.replace(
            clip,
            run=f"{clip.run}-{PRIMARY}",
            segments=top,
            view=PRIMARY,
            views=(other,),
            station=app.config.station.id,
            key="",
            sig="",
        ).signed_by(signer)
        store.append([entry])
    store.sign_checkpoint(signer, clips[-1].time + 1000)
    shutil.rmtree(work, ignore_errors=True)
    return app
