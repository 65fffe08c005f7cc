"""The camera scanner: newest frame -> decode -> two-frame confirmation -> classified scans.

Capture never waits on scanning: the capture thread overwrites a :class:`LatestFrame`
slot and the :class:`Scanner` thread takes the newest frame at most ``rate_hz`` times a
second. A camera read counts only once the same text was read in two different frames
(:class:`Confirmer`), and a code left in view does not count again until it has been out
of sight for ``rearm_ms``. Each confirmed read becomes a :class:`storage.entries.Scan`
classified by :class:`Classifier`; each processed frame also yields a :class:`FrameMotion`
level. Both go to one output queue in processing order; a scan's ``t`` is the capture time
of the first of its two frames, so it can be earlier than motion levels queued before it.

:func:`decode` is the pure part: a grayscale image in, the barcodes found out.
"""

from __future__ import annotations

import contextlib
import queue
import re
import statistics
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self, TypeAlias, cast

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

from recorder.clock import Clock
from recorder.settings import ScanSettings
from recorder.sources import Frame
from storage.entries import MAX_SCAN_TEXT, Scan
from storage.text import is_plain

Gray = npt.NDArray[np.uint8]
Kind = Literal["order", "tracking", "control", "other"]
Box = tuple[int, int, int, int]

DECODERS = ("zxing", "pyzbar")
MOTION_WIDTH = 160  # px: hands and boxes still show; 0.2 / 0.6 ms per 720p / 1080p frame

_F = zxingcpp.BarcodeFormat
# Formats seen on pick lists, waybills and products. Codabar is left out: it is not on
# current pick lists or waybills, and without a mandatory check digit it misreads in clutter.
_ZXING_FORMATS = zxingcpp.BarcodeFormats(
    [
        _F.Code128,
        _F.Code39,
        _F.Code93,
        _F.ITF,
        _F.EAN13,
        _F.EAN8,
        _F.UPCA,
        _F.UPCE,
        _F.QRCode,
        _F.DataMatrix,
        _F.PDF417,
        _F.Aztec,
    ]
)
_ZXING_NAMES = {
    "Code128": "Code128",
    "Code39": "Code39",
    "Code39Std": "Code39",
    "Code39Ext": "Code39",
    "Code93": "Code93",
    "ITF": "ITF",
    "ITF14": "ITF",
    "EAN13": "EAN-13",
    "ISBN": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "QRCode": "QRCode",
    "QRCodeModel1": "QRCode",
    "QRCodeModel2": "QRCode",
    "MicroQRCode": "MicroQRCode",
    "DataMatrix": "DataMatrix",
    "PDF417": "PDF417",
    "CompactPDF417": "PDF417",
    "Aztec": "Aztec",
    "AztecCode": "Aztec",
}
_PYZBAR_NAMES = {
    "CODE128": "Code128",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "I25": "ITF",
    "EAN13": "EAN-13",
    "ISBN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "QRCODE": "QRCode",
}
# pyzbar reads only linear codes here: on QR it never beat zxing-cpp (QR at 3 px/module,
# 0/7°, sharp/blurred: pyzbar 22/40 at 720p, zxing-cpp 40/40) and QR costs it +25 %
# (720p: 27.5 vs 22.0 ms per call).
_PYZBAR_SYMBOLS = ("CODE128", "CODE39", "CODE93", "I25", "EAN13", "EAN8", "UPCA", "UPCE")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    symbology: str  # normalized: "Code128", "QRCode", "EAN-13", ...
    box: Box  # x, y, w, h in full-frame pixels
    decoder: Literal["zxing", "pyzbar"]


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A read the :class:`Confirmer` accepted: the newest read, and when it was first seen."""

    decoded: Decoded
    first_seen_ms: int  # capture time of the earliest read in the confirming window
    confirmed_ms: int  # capture time of the frame that confirmed it


@dataclass(frozen=True, slots=True)
class FrameMotion:
    """Mean absolute difference (0-255) of two consecutive scanned frames, 160 px wide."""

    t_ms: int
    level: float


ScanOutput: TypeAlias = Scan | FrameMotion


class ScanSink(Protocol):
    """Where scans and motion readings go: a ``queue.Queue`` of them, or of more."""

    def put(self, item: ScanOutput, block: bool = True, timeout: float | None = None) -> None: ...
    def put_nowait(self, item: ScanOutput) -> None: ...


@dataclass(frozen=True, slots=True)
class Reads:
    """Every raw read of one processed frame, confirmed or not (for the live preview)."""

    t_ms: int
    items: tuple[Decoded, ...]


@dataclass(frozen=True, slots=True)
class ScanStats:
    frames: int  # frames decoded
    reads: int  # raw reads, all frames
    confirmed: int  # scans put into the output queue
    errors: int  # decoder exceptions and unusable frames: counted, never fatal
    last_error: str | None
    decode_ms_median: float | None  # over the last 300 frames (1 min at 5 Hz)
    decode_ms_p95: float | None
    motion: float | None  # the latest motion level


# -- decoding ---------------------------------------------------------------------------


def _zxing(gray: Gray) -> list[Decoded]:
    # Flags chosen with bench/scan.py (2 cores; ms per call on an empty 720p / 1080p frame,
    # all flags off: 2.8 / 5.1 ms):
    # - try_rotate on, +4.3 / +8.9 ms: a 1-D code reads only within ~±15° of the scan
    #   direction, so without it a pick list laid down sideways is never read (Code128
    #   at 90°: 0/10 -> 10/10).
    # - try_downscale on, +0.6 / +1.2 ms: big blurred codes held close to a 1080p camera
    #   (Code128 at 8 px/module, blur 4: 4/10 -> 10/10).
    # - try_invert off: +3.1 / +4.7 ms more (+33 % / +23 %) and it buys only light-on-dark
    #   codes (0/10 -> 10/10), which printed pick lists and waybills are not.
    found = zxingcpp.read_barcodes(
        gray,
        formats=_ZXING_FORMATS,
        try_rotate=True,
        try_downscale=True,
        try_invert=False,
    )
    out = []
    for b in found:
        p = b.position
        xs = (p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x)
        ys = (p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y)
        name = _ZXING_NAMES.get(b.format.name, b.format.name)
        out.append(Decoded(b.text, name, _box(xs, ys), "zxing"))
    return out


def _pyzbar(gray: Gray) -> list[Decoded]:
    # Imported here: libzbar0 is a system library, and a station without it must still
    # read codes with zxing (the scanner counts this ImportError as a decoder error).
    from pyzbar import pyzbar

    symbols = [pyzbar.ZBarSymbol[name] for name in _PYZBAR_SYMBOLS]
    out = []
    for d in pyzbar.decode(gray, symbols=symbols):
        text = d.data.decode("utf-8", errors="replace")
        name = _PYZBAR_NAMES.get(d.type, str(d.type))
        r = d.rect
        out.append(
            Decoded(text, name, (r.left, r.top, max(1, r.width), max(1, r.height)), "pyzbar")
        )
    return out


_DECODE: dict[str, Callable[[Gray], list[Decoded]]] = {"zxing": _zxing, "pyzbar": _pyzbar}


def _box(xs: Sequence[int], ys: Sequence[int]) -> Box:
    x0, y0 = max(0, min(xs)), max(0, min(ys))
    return x0, y0, max(1, max(xs) - x0), max(1, max(ys) - y0)


def decode(gray: Gray, decoders: Sequence[str]) -> list[Decoded]:
    """The distinct codes in a grayscale uint8 image, read by ``decoders`` in order.

    A decoder runs only when the ones before it found nothing, and a text read twice is
    kept once (first read wins). Why pyzbar is a fallback and not always run, measured
    with bench/scan.py on 2 cores, 720p / 1080p: both ways read the same (Code128 at 2 px,
    3 px and QR at 3 px per module: 40/40 each, where zxing-cpp alone reads Code128 at
    2 px 36/40 / 38/40); with a code in view the fallback costs 9.1 / 18.1 ms per call and
    always-both 29.4 / 62.7 ms, which a pick list left on the table would pay every frame.
    On frames without a code both cost the same (31.6 / 62.7 ms).
    """
    return _decode(gray, decoders, None)


def _decode(
    gray: Gray,
    decoders: Sequence[str],
    on_error: Callable[[str, Exception], None] | None,
) -> list[Decoded]:
    if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.dtype != np.uint8:
        raise TypeError("decode() expects a 2-D uint8 grayscale image")
    unknown = [d for d in decoders if d not in _DECODE]
    if unknown:
        raise ValueError(f"unknown decoder(s) {unknown}, expected some of {DECODERS}")
    found: dict[str, Decoded] = {}
    for name in decoders:
        if found:
            break
        try:
            reads = _DECODE[name](gray)
        except Exception as e:
            if on_error is None:
                raise
            on_error(name, e)
            continue
        for d in reads:
            found.setdefault(d.text, d)
    return list(found.values())


# -- classification ---------------------------------------------------------------------


def is_gtin(text: str) -> bool:
    """An EAN-8, UPC-A, EAN-13 or GTIN-14 number with a valid GS1 check digit."""
    if len(text) not in (8, 12, 13, 14) or not text.isascii() or not text.isdigit():
        return False
    digits = [int(c) for c in text]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


class Classifier:
    """What a scanned text means to the station, from the ``scan`` settings.

    Control codes first (exact match), then product symbologies (an EAN-13 is never an
    order, whatever its digits: the top complaint about other packing recorders), then the
    tracking patterns, then the order pattern; all patterns must match the whole text.
    A text with control, format or separator characters (storage.text) is never an order
    or a tracking id, whatever a pattern allows: it is recorded as ``other``, exactly.
    """

    def __init__(self, settings: ScanSettings) -> None:
        self._control = frozenset((settings.stop_code, settings.cancel_code, settings.ack_code))
        self._products = frozenset(settings.product_symbologies)
        self._tracking = tuple(re.compile(p) for p in settings.tracking_patterns)
        self._order = re.compile(settings.order_pattern)

    def why_other(self, text: str, symbology: str) -> str:
        """Why ``text`` is neither an order nor a waybill (for a code classified ``other``)."""
        if symbology in self._products:
            return f"a product barcode ({symbology}), not an order or a waybill"
        if not is_plain(text):
            return "it holds control, invisible or separator characters"
        if symbology == "keyboard" and is_gtin(text):
            return "a product barcode (EAN/UPC digits), not an order or a waybill"
        return "it matches neither the order pattern nor a waybill pattern"

    def classify(self, text: str, symbology: str) -> Kind:
        if text in self._control:
            return "control"
        if symbology in self._products or not is_plain(text):
            return "other"
        if symbology == "keyboard" and is_gtin(text):
            # A gun reports no symbology: a product's EAN/UPC digits (valid check digit)
            # must not open a clip. 1 in 10 random numeric ids also passes the check, so
            # shops with 8/12/13/14-digit numeric order ids should print them as QR/Code128.
            return "other"
        if any(p.fullmatch(text) for p in self._tracking):
            return "tracking"
        if self._order.fullmatch(text):
            return "order"
        return "other"


# -- confirmation -----------------------------------------------------------------------


@dataclass(slots=True)
class _Track:
    reads: deque[tuple[int, int]]  # (frame index, t_ms) of reads inside the window
    last_seen_ms: int
    held: bool  # confirmed, and not yet out of sight for rearm_ms


class Confirmer:
    """Two reads in different frames within ``window_ms`` make one confirmed read.

    Pure (frame times come in, nothing reads a clock). zxing-cpp once returned a wrong
    text that passed the Code128 checksum (FIELD-NOTES): a misread is rarely repeated in
    the next frame. After confirming, a text stays *held* until it has not been read for
    ``rearm_ms``, so a pick list left on the table does not start its order again.
    Texts unseen for longer than both intervals are forgotten; at most ``max_texts`` are
    tracked (the stalest go first), so memory is bounded whatever the camera shows.
    """

    def __init__(self, window_ms: int, rearm_ms: int, *, max_texts: int = 512) -> None:
        if window_ms <= 0 or rearm_ms < 0 or max_texts < 1:
            raise ValueError("need window_ms > 0, rearm_ms >= 0 and max_texts >= 1")
        self.window_ms = window_ms
        self.rearm_ms = rearm_ms
        self._max = max_texts
        self._tracks: dict[str, _Track] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def feed(self, frame_index: int, t_ms: int, decoded: Sequence[Decoded]) -> list[Confirmed]:
        out: list[Confirmed] = []
        for d in decoded:
            track = self._tracks.get(d.text)
            if track is None:
                track = self._tracks[d.text] = _Track(deque(), t_ms, held=False)
            elif track.held:
                if t_ms - track.last_seen_ms < self.rearm_ms:
                    track.last_seen_ms = max(track.last_seen_ms, t_ms)
                    continue
                track.held = False
                track.reads.clear()
            track.last_seen_ms = max(track.last_seen_ms, t_ms)
            reads = track.reads
            while reads and t_ms - reads[0][1] > self.window_ms:
                reads.popleft()
            if any(i == frame_index for i, _ in reads):
                continue  # the same frame again (two decoders, two copies): not a 2nd read
            reads.append((frame_index, t_ms))
            if len(reads) >= 2:
                out.append(Confirmed(d, min(t for _, t in reads), t_ms))
                track.held = True
                reads.clear()
        self._forget(t_ms)
        return out

    def _forget(self, now_ms: int) -> None:
        keep_ms = max(self.window_ms, self.rearm_ms)
        stale = [k for k, v in self._tracks.items() if now_ms - v.last_seen_ms > keep_ms]
        for k in stale:
            del self._tracks[k]
        if len(self._tracks) > self._max:
            by_age = sorted(self._tracks, key=lambda k: self._tracks[k].last_seen_ms)
            for k in by_age[: len(self._tracks) - self._max]:
                del self._tracks[k]


# -- the frame slot ---------------------------------------------------------------------


class LatestFrame:
    """One frame slot: the capture thread overwrites it, the scanner takes the newest."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._put = 0
        self._taken = 0
        self._overwritten = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._put != self._taken:
                self._overwritten += 1
            self._frame = frame
            self._put += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not taken before, or ``None`` if none arrives within ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._put != self._taken, timeout):
                return None
            self._taken = self._put
            return self._frame

    @property
    def overwritten(self) -> int:
        """Frames replaced before anyone took them (expected: capture runs at 30 fps)."""
        with self._cond:
            return self._overwritten


# -- the scanner thread -----------------------------------------------------------------


def _put_until(out: ScanSink, item: ScanOutput, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class Scanner:
    """The scanning thread: ``with Scanner(settings, slot, out, clock): ...``.

    ``out`` receives :class:`storage.entries.Scan` (``source="camera"``, ``t`` = capture
    time of the frame that confirmed it, whose box it carries) and :class:`FrameMotion`
    values. Scans wait for room in a bounded queue; motion levels are dropped when full.
    """

    def __init__(
        self,
        settings: ScanSettings,
        slot: LatestFrame,
        out: ScanSink,
        clock: Clock,
    ) -> None:
        if settings.zone is not None:
            x, y, w, h = settings.zone
            if not (0 <= x < 1 and 0 <= y < 1 and w > 0 and h > 0):
                raise ValueError(f"scan zone {settings.zone} must be fractions of the frame")
        self.settings = settings
        self._slot = slot
        self._out = out
        self._clock = clock
        self._classifier = Classifier(settings)
        self._confirmer = Confirmer(settings.confirm_window_ms, settings.rearm_ms)
        self._period = 1.0 / settings.rate_hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="packseal-scanner", daemon=True)
        self._lock = threading.Lock()
        self._prev_small: Gray | None = None
        self._reads = Reads(0, ())
        self._frames = self._nreads = self._confirmed = self._errors = 0
        self._last_error: str | None = None
        self._decode_ms: deque[float] = deque(maxlen=300)
        self._motion: float | None = None
        self._misses = 0  # frames the scaled first pass found nothing in
        self._small_in_view = False  # the last full-resolution pass read a code

    # lifecycle

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # what the station and the preview read

    def stats(self) -> ScanStats:
        with self._lock:
            times = sorted(self._decode_ms)
            return ScanStats(
                frames=self._frames,
                reads=self._nreads,
                confirmed=self._confirmed,
                errors=self._errors,
                last_error=self._last_error,
                decode_ms_median=round(statistics.median(times), 2) if times else None,
                decode_ms_p95=round(times[min(len(times) - 1, int(0.95 * len(times)))], 2)
                if times
                else None,
                motion=self._motion,
            )

    def last_reads(self) -> Reads:
        """All raw reads of the latest processed frame, with full-frame boxes."""
        return self._reads

    # the thread

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._slot.take(timeout=0.1)
            if frame is None:
                continue
            started = self._clock.monotonic()
            try:
                self.process(frame)
            except Exception as e:  # one bad frame must not end scanning for the shift
                self._error("scanner", e)
            due = started + self._period
            while not self._stop.is_set() and (left := due - self._clock.monotonic()) > 0:
                self._clock.sleep(min(left, 0.05))

    def process(self, frame: Frame) -> None:
        """Scan one frame now: the thread calls this; tests and replays may, without the thread."""
        image = frame.image
        if image.dtype != np.uint8 or not (image.ndim == 2 or image.shape[2:] == (3,)):
            raise ValueError(
                f"frame {frame.index}: expected a BGR or gray uint8 image, "
                f"found shape {image.shape} {image.dtype}"
            )
        gray = image if image.ndim == 2 else cast(Gray, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        self._measure_motion(frame.t_ms, gray)
        gray, (ox, oy) = self._crop(gray)
        t0 = self._clock.monotonic()
        found = self._decode_passes(gray)
        elapsed_ms = (self._clock.monotonic() - t0) * 1000
        if ox or oy:
            found = [
                Decoded(d.text, d.symbology, (d.box[0] + ox, d.box[1] + oy, *d.box[2:]), d.decoder)
                for d in found
            ]
        self._reads = Reads(frame.t_ms, tuple(found))
        usable = [d for d in found if 0 < len(d.text) <= MAX_SCAN_TEXT]
        confirmed = self._confirmer.feed(frame.index, frame.t_ms, usable)
        with self._lock:
            self._frames += 1
            self._nreads += len(found)
            self._decode_ms.append(elapsed_ms)
        for c in confirmed:
            d = c.decoded
            kind = self._classifier.classify(d.text, d.symbology)
            # Time and box of the same (confirming) frame, so a sheet or replay draws the
            # box where the code was; the first sighting is at most confirm_window earlier.
            scan = Scan(c.confirmed_ms, d.text, kind, d.symbology, "camera", d.box)
            if _put_until(self._out, scan, self._stop):
                with self._lock:
                    self._confirmed += 1

    def _decode_passes(self, gray: Gray) -> list[Decoded]:
        """A scaled pass first (at most ``first_scale`` and ``first_width`` px wide, the
        first decoder only), full resolution (every decoder) when it finds nothing: on
        every ``full_every``-th such frame, and at once while the last full-resolution
        pass read a code (a code too small for the scaled pass is in view: it is confirmed
        in consecutive frames, not ``full_every`` apart). bench/scan.py ``--first-pass``
        measured it."""
        h, w = gray.shape[:2]
        scale = self.settings.first_scale
        if self.settings.first_width is not None:
            scale = min(scale, self.settings.first_width / w)
        if scale >= 1.0:
            return _decode(gray, self.settings.decoders, self._error)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cast(Gray, cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
        # The first decoder alone: pyzbar on a half-size frame read Code128 at 2 px/module
        # 4/40 and cost 3/4 of the scaled pass on frames without a code (bench/README.md);
        # the others are full-resolution fallbacks.
        found = _decode(small, self.settings.decoders[:1], self._error)
        if found:
            sx, sy = w / size[0], h / size[1]
            return [
                Decoded(
                    d.text,
                    d.symbology,
                    (round(d.box[0] * sx), round(d.box[1] * sy),
                     max(1, round(d.box[2] * sx)), max(1, round(d.box[3] * sy))),
                    d.decoder,
                )
                for d in found
            ]  # fmt: skip
        self._misses += 1
        if not self._small_in_view and self._misses % self.settings.full_every:
            return []
        found = _decode(gray, self.settings.decoders, self._error)
        self._small_in_view = bool(found)
        return found

    def _crop(self, image: Gray) -> tuple[Gray, tuple[int, int]]:
        zone = self.settings.zone
        if zone is None:
            return image, (0, 0)
        h, w = image.shape[:2]
        x0, y0 = min(w - 1, round(zone[0] * w)), min(h - 1, round(zone[1] * h))
        x1 = max(x0 + 1, min(w, round((zone[0] + zone[2]) * w)))
        y1 = max(y0 + 1, min(h, round((zone[1] + zone[3]) * h)))
        return image[y0:y1, x0:x1], (x0, y0)

    def _measure_motion(self, t_ms: int, gray: Gray) -> None:
        h, w = gray.shape
        size = (MOTION_WIDTH, max(1, round(h * MOTION_WIDTH / w)))
        small = cast(Gray, cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
        prev, self._prev_small = self._prev_small, small
        if prev is None or prev.shape != small.shape:
            return
        level = round(float(cv2.absdiff(prev, small).mean()), 3)
        with self._lock:
            self._motion = level
        with contextlib.suppress(queue.Full):
            self._out.put_nowait(FrameMotion(t_ms, level))

    def _error(self, where: str, e: Exception) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = f"{where}: {type(e).__name__}: {e}"


__all__ = [
    "DECODERS",
    "Classifier",
    "Confirmed",
    "Confirmer",
    "Decoded",
    "FrameMotion",
    "LatestFrame",
    "Reads",
    "ScanOutput",
    "ScanSink",
    "ScanStats",
    "Scanner",
    "decode",
]
