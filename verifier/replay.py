"""Replay: a clip from the store, re-hashed segment by segment, as a video a reviewer watches.

:func:`segment_verdicts` re-hashes each stored segment against the clip entry and says,
per segment, ``verified``, ``mismatch``, ``missing`` (deleted with no ``purge`` entry:
tampering or loss) or ``purged`` (retention deleted it and logged why). :func:`replay`
writes an annotated copy: the recorded picture, untouched but for the scan boxes, above
a strip that says for every frame which segment it is and whether that segment verified,
the order's facts, and the scan being read; a segment whose media is gone is shown as a
card for its duration, so the timeline stays true. :func:`write_keyframes` writes the
evidence sheet's keyframes as PNG images. The merchant portal calls the same functions.
The verdicts themselves are :mod:`verifier._verdicts`' (no OpenCV, no ffmpeg).

The strip is below the picture, not over it, so no recorded pixel (the burned-in
caption included) is hidden. Its text is drawn with Pillow in the shipped DejaVu fonts
(OpenCV's Hershey fonts have no ✓) once per segment, scan and second, and pasted into
each frame; at 640x360 the whole replay runs at ~300 frames/s on 2 cores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from storage import BlobMissingError, Store
from storage.entries import Clip, Scan
from storage.text import printable
from verifier import fonts
from verifier._errors import MediaFormatError, VerifierError
from verifier._verdicts import (
    InitVerdict,
    SegmentVerdict,
    clip_view,
    init_verdict,
    load_clip,
    segment_verdicts,
)
from verifier.frames import Image, Keyframe, iter_frames, pick_keyframes

__all__ = [
    "InitVerdict",
    "Replay",
    "SegmentVerdict",
    "draw_boxes",
    "init_verdict",
    "load_clip",
    "replay",
    "replay_command",
    "segment_verdicts",
    "write_keyframes",
]

SCAN_MARK_MS = 2500  # how long a scan stays marked: the confirm window (2 s) and a bit
_GREEN = (18, 122, 70)
_RED = (186, 38, 38)
_AMBER = (150, 96, 0)
_INK = (24, 32, 45)
_BOX = (110, 230, 0)  # BGR of the sheet's scan-box green
_KIND = {"order": "order scan", "tracking": "waybill scan", "other": "product scan"}


@dataclass(frozen=True, slots=True)
class Replay:
    path: Path
    init: InitVerdict
    segments: list[SegmentVerdict]
    frames: int
    width: int
    height: int

    @property
    def verified(self) -> bool:
        """Every byte of the clip is there and hashes to its entry."""
        return self.init.ok and all(s.ok for s in self.segments)

    @property
    def tampered(self) -> list[SegmentVerdict]:
        """Segments that changed or vanished without a purge entry."""
        return [s for s in self.segments if s.state in ("mismatch", "missing")]


# -- the annotated copy ----------------------------------------------------------------------


def replay_command(ffmpeg: str, out: Path, width: int, height: int, fps: str) -> list[str]:
    """ffmpeg reading BGR frames on stdin and writing an H.264 MP4 for any player."""
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{width}x{height}",
        "-r",
        fps,
        "-i",
        "pipe:",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-metadata",
        "comment=packseal replay: an annotated copy for viewing, not evidence",
        "-f",
        "mp4",
        str(out),
    ]


def replay(
    store: Store,
    clip: Clip,
    out: Path,
    *,
    zone: dt.tzinfo = dt.UTC,
    merchant: str = "",
    ffmpeg: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    view: str | None = None,
) -> Replay:
    """Write the annotated copy of ``clip`` to ``out`` and return what was verified.

    A segment that is missing, purged or does not decode becomes a card of its duration.
    Raises :class:`VerifierError` only if ffmpeg fails; a tampered store is a result,
    not an error (see :attr:`Replay.tampered`). ``view``: one camera of a clip filmed
    by several (``None``: the first); its strip names it, and only the first camera's
    picture gets the scan boxes (they are that camera's pixels).
    """
    footage = clip_view(clip, view)
    primary = footage.view == clip.all_views()[0].view
    verdicts = segment_verdicts(store, clip, view=view)
    init = init_verdict(store, clip, verdicts, view=view)
    video = footage.video
    width, height = video.width, video.height
    painter = _Painter(clip, width, height, zone, merchant, init, view=footage.view, boxes=primary)
    first, last = footage.segments[0].seq, footage.segments[-1].seq
    rows = {r.seq: r.frames for r in store.segments(first, last)}
    fps = f"{video.fps_num}/{video.fps_den}"
    exe = ffmpeg or imageio_ffmpeg.get_ffmpeg_exe()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with tempfile.TemporaryDirectory(prefix="packseal-replay-", dir=out.parent) as tmp:
        part = Path(tmp) / "segment.mp4"
        target = Path(tmp) / "replay.mp4"
        cmd = replay_command(exe, target, width, height + painter.strip_h, fps)
        with _encoder(cmd, Path(tmp) / "ffmpeg.log") as write:
            for verdict in verdicts:
                expected = rows.get(verdict.seq) or _frames_for(
                    verdict, video.fps_num, video.fps_den
                )
                span = verdict.end_ms - verdict.start_ms
                i = 0
                # Streamed: a 2 s 1080p30 segment is 370 MB of decoded frames.
                for picture in _segment_frames(store, verdict, init, part):
                    t = min(verdict.start_ms - (-i * span // expected), verdict.end_ms)
                    write(painter.frame(picture, verdict, t))
                    i += 1
                for j in range(i, expected):  # gone or undecodable: a card, same length
                    t = verdict.start_ms - (-j * span // expected)
                    write(painter.frame(None, verdict, t))
                total += max(i, expected)
                if progress is not None:
                    progress(verdict.number, verdict.total)
        target.replace(out)
    return Replay(out, init, verdicts, total, width, height + painter.strip_h)


def _frames_for(verdict: SegmentVerdict, fps_num: int, fps_den: int) -> int:
    return max(1, round((verdict.end_ms - verdict.start_ms) * fps_num / fps_den / 1000))


def _segment_frames(
    store: Store, verdict: SegmentVerdict, init: InitVerdict, part: Path
) -> Iterator[Image]:
    """The decoded frames of one stored segment (init + its bytes); none if it is gone."""
    if verdict.found is None or init.found is None:
        return iter(())
    try:
        with open(part, "wb") as out:
            for sha256 in (init.expected, verdict.expected):
                with store.open_blob(sha256) as blob:
                    shutil.copyfileobj(blob, out)
    except BlobMissingError:  # deleted between the check and now
        return iter(())
    return iter_frames(part)


@contextmanager
def _encoder(cmd: list[str], log: Path) -> Iterator[Callable[[Image], None]]:
    """A ``write(frame)`` into ffmpeg; on leaving, ffmpeg finishes the file or we raise."""
    with open(log, "wb") as err:

        def fail() -> NoReturn:
            proc.wait()
            tail = log.read_text("utf-8", "replace").strip().splitlines()[-5:]
            raise VerifierError(
                f"ffmpeg failed writing the replay (exit {proc.returncode}): {' | '.join(tail)}"
            )

        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=err)
        except OSError as e:
            raise VerifierError(f"cannot start ffmpeg {cmd[0]!r}: {e}") from e
        stdin = proc.stdin
        assert stdin is not None

        def write(frame: Image) -> None:
            try:
                stdin.write(frame.tobytes())
            except BrokenPipeError:
                fail()

        try:
            yield write
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        if proc.wait() != 0:
            fail()


# -- drawing -------------------------------------------------------------------------------------


@cache
def _font(bold: bool, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.SANS_BOLD if bold else fonts.SANS), px)


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


class _Painter:
    """Composes one output frame: the picture (boxes added) above the strip."""

    def __init__(
        self,
        clip: Clip,
        width: int,
        height: int,
        zone: dt.tzinfo,
        merchant: str,
        init: InitVerdict,
        *,
        view: str = "",
        boxes: bool = True,
    ) -> None:
        self.clip = clip
        self.view = view  # named in the strip: a clip filmed by several cameras
        self.boxes = boxes
        self.width, self.height = width, height
        self.zone = zone
        self.init = init
        self.strip_h = _even(max(56, width * 0.12))
        self.px = max(11, round(self.strip_h * 0.22))
        facts = [clip.order_id, *clip.tracking_ids, merchant, clip.station, clip.status]
        # Scanned texts are any Unicode (storage.text): U+2029 made Pillow's layout raise.
        self.facts = "  ·  ".join(printable(f, 120) for f in facts if f)
        self._strips: dict[tuple[int, int, int], Image] = {}
        self._cards: dict[int, Image] = {}

    def frame(self, picture: Image | None, v: SegmentVerdict, t_ms: int) -> Image:
        if picture is None or picture.shape[:2] != (self.height, self.width):
            picture = self._card(v)
        else:
            picture = picture.copy()
        active = [i for i, s in enumerate(self.clip.scans) if s.t <= t_ms < s.t + SCAN_MARK_MS]
        for i in active if self.boxes else ():
            self._mark(picture, self.clip.scans[i])
        scan = active[-1] if active else -1
        return np.vstack([picture, self._strip(v, scan, t_ms)])

    def _mark(self, picture: Image, scan: Scan) -> None:
        # A box only: its text is in the strip, so no recorded pixel is covered.
        if scan.box is None:
            return
        x, y, w, h = scan.box
        thick = max(2, self.width // 320)
        cv2.rectangle(picture, (x - thick, y - thick), (x + w + thick, y + h + thick), _BOX, thick)

    def _strip(self, v: SegmentVerdict, scan: int, t_ms: int) -> Image:
        key = (v.number, scan, t_ms // 1000)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > 64:  # one per second and scan: keep memory flat
                self._strips.clear()
            strip = self._strips[key] = self._render_strip(v, scan, t_ms)
        return strip

    def _render_strip(self, v: SegmentVerdict, scan: int, t_ms: int) -> Image:
        w, h, px = self.width, self.strip_h, self.px
        img = PILImage.new("RGB", (w, h), _INK)
        draw = ImageDraw.Draw(img)
        half = h // 2
        ok = v.ok and self.init.ok
        color = _GREEN if ok else _AMBER if v.state == "purged" else _RED
        draw.rectangle((0, 0, w, half), fill=color)
        banner = v.banner() if self.init.ok else f"{v.banner()}  ·  init {self.init.state}"
        if self.view:
            banner = f"{self.view.upper()}  ·  {banner}"
        pad = px // 2
        bold, regular = _font(True, px), _font(False, px)
        when = dt.datetime.fromtimestamp(t_ms // 1000, self.zone)
        clock = when.strftime("%H:%M:%S %Z")
        elapsed = (t_ms - self.clip.start_ms) // 1000
        clock += f"  +{elapsed // 60}:{elapsed % 60:02d}"
        clock_w = draw.textlength(clock, font=bold)
        draw.text((w - pad, half / 2), clock, font=bold, fill="white", anchor="rm")
        draw.text(
            (pad, half / 2),
            _fit(banner, bold, w - clock_w - 3 * pad),
            font=bold,
            fill="white",
            anchor="lm",
        )
        mid = half + (h - half) / 2
        room = float(w - 2 * pad)
        if scan >= 0:  # the scan being read, right-aligned in the scan-box green
            s = self.clip.scans[scan]
            event = f"▶ {_KIND.get(s.kind, s.kind)} {printable(s.text, 60)}"
            draw.text((w - pad, mid), event, font=bold, fill=(0, 230, 110), anchor="rm")
            room -= draw.textlength(event, font=bold) + 2 * pad
        draw.text(
            (pad, mid),
            _fit(self.facts, regular, room),
            font=regular,
            fill=(230, 235, 240),
            anchor="lm",
        )
        return np.asarray(img)[:, :, ::-1].copy()

    def _card(self, v: SegmentVerdict) -> Image:
        card = self._cards.get(v.number)
        if card is None:
            if len(self._cards) > 8:  # one per segment: a 1080p card is 6 MB
                self._cards.clear()
            img = PILImage.new("RGB", (self.width, self.height), (40, 44, 52))
            draw = ImageDraw.Draw(img)
            if not self.init.found:
                why = "the init section is missing: nothing can be decoded"
            elif v.found is None:
                why = (
                    "purged by retention (a purge entry is logged)"
                    if v.state == "purged"
                    else "its media is MISSING and no purge entry explains it"
                )
            else:
                why = "these frames could not be decoded"
            big = _font(True, round(self.px * 1.4))
            cx, cy = self.width / 2, self.height / 2
            draw.text(
                (cx, cy - self.px),
                f"segment {v.number}/{v.total}",
                font=big,
                fill="white",
                anchor="ms",
            )
            draw.text(
                (cx, cy + self.px),
                _fit(why, _font(False, self.px), self.width - 20),
                font=_font(False, self.px),
                fill=(235, 200, 120),
                anchor="ms",
            )
            card = self._cards[v.number] = np.asarray(img)[:, :, ::-1].copy()
        return card.copy()


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


# -- keyframes as images -------------------------------------------------------------------------


def write_keyframes(
    store: Store,
    clip: Clip,
    out_dir: Path,
    *,
    verdicts: Sequence[SegmentVerdict] | None = None,
    max_frames: int = 6,
) -> list[Path]:
    """Write the sheet's keyframes (scan boxes drawn) as ``NN-label.png`` in ``out_dir``.

    Only verified segments are used: a keyframe must not come from altered bytes. Raises
    :class:`VerifierError` if the init section or every segment failed to verify.
    """
    verdicts = segment_verdicts(store, clip) if verdicts is None else verdicts
    init = init_verdict(store, clip, verdicts)
    good = [v for v in verdicts if v.ok]
    if not init.ok or not good:
        raise VerifierError(
            f"clip {clip.clip_id}: no verified footage to take keyframes from "
            f"(init {init.state}, {len(good)} of {len(verdicts)} segments verified)"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="packseal-keyframes-", dir=out_dir) as tmp:
        path = Path(tmp) / "clip.mp4"
        with open(path, "wb") as f:
            f.write(store.read_blob(clip.init))
            for v in good:
                f.write(store.read_blob(v.expected))
        try:
            keyframes = pick_keyframes(clip, path, max_frames=max_frames)
        except MediaFormatError as e:
            raise VerifierError(f"clip {clip.clip_id}: {e.message}", hint=e.hint) from e
    written = []
    for n, kf in enumerate(keyframes, 1):
        target = out_dir / f"{n:02d}-{_slug(kf.label)}.png"
        if not cv2.imwrite(str(target), draw_boxes(kf)):
            raise VerifierError(f"cannot write {target}")
        written.append(target)
    return written


def draw_boxes(kf: Keyframe) -> Image:
    """The keyframe's image with its scan boxes drawn as on the sheet."""
    image = kf.image.copy()
    thick = max(2, image.shape[1] // 320)
    for x, y, w, h in kf.boxes:
        cv2.rectangle(image, (x - thick, y - thick), (x + w + thick, y + h + thick), _BOX, thick)
    return image


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "frame"
