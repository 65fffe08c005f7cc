from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.clock import ManualClock
from recorder.scanner import (
    Classifier,
    Confirmer,
    Decoded,
    FrameMotion,
    LatestFrame,
    Scanner,
    ScanOutput,
    _decode,
    decode,
)
from recorder.settings import ScanSettings
from recorder.sources import Frame
from storage.entries import Scan

F = zxingcpp.BarcodeFormat
ORDER = "SO-2026-004217"

# -- rendering real barcodes ------------------------------------------------------------


def _code(text: str, fmt: F, ppm: int) -> np.ndarray:
    img = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=ppm), dtype=np.uint8)
    if fmt in (F.Code128, F.Code39):  # a printed 1-D code is taller than the writer's
        img = cv2.resize(img, (img.shape[1], 40 * ppm), interpolation=cv2.INTER_NEAREST)
    return img


def canvas(
    codes: list[tuple[str, F, int, tuple[int, int]]],
    *,
    size: tuple[int, int] = (640, 480),
    angle: float = 0.0,
    blur: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A gray table with white labels carrying ``codes`` centred at the given points."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 110, np.float32) + rng.normal(0, 12, (h, w)).astype(np.float32)
    for text, fmt, ppm, (cx, cy) in codes:
        label = _code(text, fmt, ppm).astype(np.float32) * 0.92
        lh, lw = label.shape
        m = cv2.getRotationMatrix2D((lw / 2, lh / 2), angle, 1.0)
        m[0, 2] += cx - lw / 2
        m[1, 2] += cy - lh / 2
        mask = cv2.warpAffine(np.ones_like(label), m, (w, h))
        img = img * (1 - mask) + cv2.warpAffine(label, m, (w, h)) * mask
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img += rng.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def bgr(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))


# -- classification ---------------------------------------------------------------------

CUSTOM = ScanSettings(
    order_pattern=r"ORD\d{6}",
    tracking_patterns=(r"ZZ\d{4}",),
    product_symbologies=("EAN-13", "Code39"),
    stop_code="END",
    cancel_code="UNDO",
)

ANYTHING = ScanSettings(order_pattern=r".+", tracking_patterns=(r"TRK.+",))


@pytest.mark.parametrize(
    ("text", "symbology", "why"),
    [
        ("4006381333931", "EAN-13", "a product barcode (EAN-13)"),
        ("4006381333931", "keyboard", "a product barcode (EAN/UPC digits)"),
        ("SO\u2029-1", "QRCode", "control, invisible or separator"),
        ("hello world", "QRCode", "neither the order pattern nor a waybill pattern"),
    ],
)
def test_why_a_code_is_neither_order_nor_waybill(text: str, symbology: str, why: str) -> None:
    classifier = Classifier(ScanSettings())
    assert classifier.classify(text, symbology) == "other"
    assert why in classifier.why_other(text, symbology)


@pytest.mark.parametrize(
    ("settings", "text", "symbology", "kind"),
    [
        (ScanSettings(), "SO-2026-815961", "Code128", "order"),
        (ScanSettings(), "SO-2026-815961", "QRCode", "order"),
        (ScanSettings(), "SO-1234567", "keyboard", "order"),
        (ScanSettings(), "1Z999AA10123456784", "Code128", "tracking"),
        (ScanSettings(), "RR123456789CN", "Code128", "tracking"),
        (ScanSettings(), "SF1234567890123", "Code128", "tracking"),
        (ScanSettings(), "TRK-935740467705", "Code128", "tracking"),
        (ScanSettings(), "PACKSEAL-STOP", "QRCode", "control"),
        (ScanSettings(), "PACKSEAL-CANCEL", "Code128", "control"),
        (ScanSettings(), "PACKSEAL-ACK", "keyboard", "control"),
        (ScanSettings(ack_code="OK-ALARM"), "OK-ALARM", "QRCode", "control"),
        (ScanSettings(), "PACKSEAL-STOP", "EAN-13", "control"),
        (ScanSettings(), "packseal-stop", "Code128", "order"),  # control codes are exact
        (ScanSettings(), "PACKSEAL-STOP ", "Code128", "other"),
        (ScanSettings(), "4006381333931", "EAN-13", "other"),  # digits that fit the order pattern
        (ScanSettings(), "96385074", "EAN-8", "other"),
        (ScanSettings(), "036000291452", "UPC-A", "other"),
        (ScanSettings(), "01234565", "UPC-E", "other"),
        (ScanSettings(), "1Z999AA10123456784", "EAN-13", "other"),
        (ScanSettings(), "4006381333931", "Code128", "order"),
        (ScanSettings(), "ABC12", "Code128", "other"),  # too short for an order
        (ScanSettings(), "x" * 41, "Code128", "other"),  # too long
        (ScanSettings(), "https://example.com/o/1", "QRCode", "other"),
        (ScanSettings(), "hello world", "QRCode", "other"),
        (ScanSettings(), "xx1Z999AA10123456784", "Code128", "order"),  # tracking is full-match
        (CUSTOM, "ORD123456", "Code128", "order"),
        (CUSTOM, "ORD1234567", "Code128", "other"),
        (CUSTOM, "ORD123456", "Code39", "other"),
        (CUSTOM, "ZZ1234", "QRCode", "tracking"),
        (CUSTOM, "END", "QRCode", "control"),
        (CUSTOM, "UNDO", "Code128", "control"),
        (CUSTOM, "PACKSEAL-STOP", "Code128", "other"),
        (CUSTOM, "1Z999AA10123456784", "Code128", "other"),
        (CUSTOM, "4006381333931", "EAN-8", "other"),
        # A pattern that allows anything still never makes a separator, control, bidi
        # or zalgo text an order or a waybill (it is recorded, as "other").
        (ANYTHING, "SO-1\u2029X", "QRCode", "other"),
        (ANYTHING, "SO-1\u2028X", "QRCode", "other"),
        (ANYTHING, "\u202eSO-1", "QRCode", "other"),
        (ANYTHING, "SO\x00-1", "QRCode", "other"),
        (ANYTHING, "SO-1\u200b", "QRCode", "other"),
        (ANYTHING, "TRK1\u2029", "QRCode", "other"),
        (ANYTHING, "e\u0301\u0301\u0301X", "QRCode", "other"),
        (ANYTHING, "订单-2026-1", "QRCode", "order"),
        (ANYTHING, "TRK订单📦", "QRCode", "tracking"),
    ],
)
def test_classify(settings: ScanSettings, text: str, symbology: str, kind: str) -> None:
    assert Classifier(settings).classify(text, symbology) == kind


# -- confirmation -----------------------------------------------------------------------


def d(text: str = ORDER) -> Decoded:
    return Decoded(text, "Code128", (10, 20, 30, 40), "zxing")


def test_single_read_never_counts() -> None:
    c = Confirmer(2000, 3000)
    assert c.feed(1, 0, [d()]) == []
    for i in range(2, 40):
        assert c.feed(i, i * 200, []) == []


def test_two_frames_in_window_count_once() -> None:
    c = Confirmer(2000, 3000)
    assert c.feed(1, 1000, [d()]) == []
    [confirmed] = c.feed(2, 1200, [d()])
    assert confirmed.decoded == d()
    assert (confirmed.first_seen_ms, confirmed.confirmed_ms) == (1000, 1200)
    for i in range(3, 10):
        assert c.feed(i, 1000 + i * 200, [d()]) == []


def test_same_frame_twice_does_not_count() -> None:
    c = Confirmer(2000, 3000)
    assert c.feed(1, 0, [d(), d()]) == []
    assert c.feed(1, 0, [d()]) == []
    assert c.feed(2, 200, [d()]) != []


def test_window_boundary() -> None:
    c = Confirmer(2000, 3000)
    assert c.feed(1, 0, [d()]) == []
    assert c.feed(2, 2001, [d()]) == []  # the first read has left the window
    [late] = c.feed(3, 2100, [d()])
    assert late.first_seen_ms == 2001
    c = Confirmer(2000, 3000)
    c.feed(1, 0, [d()])
    assert c.feed(2, 2000, [d()]) != []  # exactly window_ms apart still counts


def test_first_seen_is_the_earliest_read_in_the_window() -> None:
    c = Confirmer(2000, 3000)
    c.feed(1, 0, [d()])
    c.feed(1, 0, [d()])
    [confirmed] = c.feed(2, 500, [d()])
    assert confirmed.first_seen_ms == 0


def test_pick_list_left_in_view_counts_once() -> None:
    c = Confirmer(2000, 3000)
    out = []
    for i in range(300):  # a minute at 5 Hz, read in 2 of every 3 frames
        out += c.feed(i, i * 200, [d()] if i % 3 else [])
    assert len(out) == 1


def test_rearm_after_absence() -> None:
    c = Confirmer(2000, 3000)
    c.feed(1, 0, [d()])
    assert len(c.feed(2, 200, [d()])) == 1
    assert c.feed(3, 3100, [d()]) == []  # unseen 2900 ms < rearm: still held ...
    assert c.feed(4, 6000, [d()]) == []  # ... and that read extended the hold
    assert c.feed(5, 9000, [d()]) == []  # unseen 3000 ms: rearmed, but one read is not enough
    [again] = c.feed(6, 9200, [d()])
    assert again.first_seen_ms == 9000


def test_rearm_zero_confirms_every_second_frame() -> None:
    c = Confirmer(2000, 0)
    counts = [len(c.feed(i, i * 200, [d()])) for i in range(6)]
    assert counts == [0, 1, 0, 1, 0, 1]


def test_interleaved_codes() -> None:
    a, b = d("SO-AAAAAA"), d("SO-BBBBBB")
    c = Confirmer(2000, 3000)
    assert c.feed(1, 0, [a]) == []
    assert c.feed(2, 200, [b]) == []
    assert [x.decoded.text for x in c.feed(3, 400, [a])] == ["SO-AAAAAA"]
    assert [x.decoded.text for x in c.feed(4, 600, [b, a])] == ["SO-BBBBBB"]
    both = c.feed(5, 800, [d("SO-CCCCCC"), d("SO-DDDDDD")])
    assert both == []
    both = c.feed(6, 1000, [d("SO-DDDDDD"), d("SO-CCCCCC")])
    assert sorted(x.decoded.text for x in both) == ["SO-CCCCCC", "SO-DDDDDD"]


def test_memory_is_bounded() -> None:
    c = Confirmer(2000, 3000, max_texts=64)
    for i in range(5000):
        c.feed(i, i * 200, [d(f"SO-{i:08d}")])
        assert len(c) <= 16  # 3 s of 5 Hz frames: forgotten once out of both intervals
    c.feed(9999, 10**7, [d(f"SO-X{i:07d}") for i in range(1000)])
    assert len(c) == 64


def test_confirmer_rejects_bad_intervals() -> None:
    with pytest.raises(ValueError, match="window_ms"):
        Confirmer(0, 3000)
    with pytest.raises(ValueError, match="rearm_ms"):
        Confirmer(2000, -1)


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.integers(1, 1500), st.lists(st.sampled_from("ABC"), max_size=4)),
        max_size=60,
    ),
    window=st.integers(100, 3000),
    rearm=st.integers(0, 5000),
)
def test_confirmer_properties(frames: list[tuple[int, list[str]]], window: int, rearm: int) -> None:
    """Every confirmation has a read from another frame within the window before it, and
    two confirmations of a text have a gap of at least ``rearm`` without reads of it."""
    c = Confirmer(window, rearm)
    t = 0
    reads: dict[str, list[tuple[int, int]]] = {}
    confirmed: dict[str, list[int]] = {}
    for index, (step, texts) in enumerate(frames):
        t += step
        for x in c.feed(index, t, [d(s) for s in texts]):
            text = x.decoded.text
            earlier = [r for r in reads.get(text, []) if r[0] != index and t - r[1] <= window]
            assert earlier, f"{text} confirmed at {t} without an earlier read in the window"
            assert x.first_seen_ms in {r[1] for r in earlier}
            if confirmed.get(text):
                last = confirmed[text][-1]
                seen = sorted(r[1] for r in reads[text] if r[1] >= last)
                gaps = [b - a for a, b in zip(seen, [*seen[1:], t], strict=True)]
                assert max(gaps) >= rearm
            confirmed.setdefault(text, []).append(t)
        for s in texts:
            reads.setdefault(s, []).append((index, t))


# -- decoding real barcodes -------------------------------------------------------------

CASES = [
    pytest.param(ORDER, F.Code128, 3, "Code128", id="code128"),
    pytest.param("TRK-935740467705", F.QRCode, 4, "QRCode", id="qr"),
    pytest.param("4006381333931", F.EAN13, 3, "EAN-13", id="ean13"),
]


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
@pytest.mark.parametrize(("text", "fmt", "ppm", "symbology"), CASES)
@pytest.mark.parametrize(("angle", "blur"), [(0, 0), (5, 0.8), (-4, 1.0)])
def test_decode_rendered(
    decoder: str, text: str, fmt: F, ppm: int, symbology: str, angle: float, blur: float
) -> None:
    gray = canvas([(text, fmt, ppm, (300, 260))], angle=angle, blur=blur)
    found = decode(gray, [decoder])
    if decoder == "pyzbar" and fmt == F.QRCode:
        assert found == []  # pyzbar reads only linear codes here (zxing-cpp does QR better)
        return
    [code] = found
    assert (code.text, code.symbology, code.decoder) == (text, symbology, decoder)
    x, y, w, h = code.box
    assert x <= 300 <= x + w
    assert y <= 260 <= y + h


def test_decode_finds_several_codes_and_merges_duplicates() -> None:
    gray = canvas(
        [
            (ORDER, F.Code128, 2, (220, 100)),
            ("4006381333931", F.EAN13, 3, (200, 330)),
            (ORDER, F.Code128, 2, (470, 400)),
        ],
        size=(800, 520),
    )
    found = decode(gray, ["zxing", "pyzbar"])
    assert sorted((c.text, c.symbology) for c in found) == [
        ("4006381333931", "EAN-13"),
        (ORDER, "Code128"),
    ]
    assert {c.text for c in decode(gray, ["pyzbar"])} == {ORDER, "4006381333931"}


def test_later_decoders_run_only_when_earlier_ones_found_nothing() -> None:
    qr = canvas([("TRK-935740467705", F.QRCode, 4, (300, 240))])
    [code] = decode(qr, ["pyzbar", "zxing"])
    assert code.decoder == "zxing"
    c128 = canvas([(ORDER, F.Code128, 3, (300, 240))])
    assert [c.decoder for c in decode(c128, ["zxing", "pyzbar"])] == ["zxing"]
    assert [c.decoder for c in decode(c128, ["pyzbar", "zxing"])] == ["pyzbar"]


def test_decode_reads_a_code_turned_upright() -> None:
    gray = canvas([(ORDER, F.Code128, 3, (240, 320))], size=(480, 640), angle=90)
    assert [c.text for c in decode(gray, ["zxing"])] == [ORDER]


def test_decode_empty_and_bad_input() -> None:
    assert decode(canvas([]), ["zxing", "pyzbar"]) == []
    assert decode(canvas([]), []) == []
    with pytest.raises(TypeError, match="grayscale"):
        decode(bgr(canvas([])), ["zxing"])
    with pytest.raises(TypeError, match="grayscale"):
        decode(canvas([]).astype(np.float32), ["zxing"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown decoder"):
        decode(canvas([]), ["zbar"])


def test_a_failing_decoder_is_reported_and_the_next_one_runs() -> None:
    """The scanner thread's path: errors go to a callback instead of ending the frame."""
    nothing = np.zeros((10, 0), np.uint8)  # both libraries refuse an image without pixels
    with pytest.raises(ValueError, match="width"):
        decode(nothing, ["zxing"])
    errors: list[tuple[str, str]] = []
    assert _decode(nothing, ["zxing", "pyzbar"], lambda n, e: errors.append((n, repr(e)))) == []
    assert [name for name, _ in errors] == ["zxing", "pyzbar"]


# -- the frame slot ---------------------------------------------------------------------


def frame(image: np.ndarray, index: int, t_ms: int) -> Frame:
    return Frame(image=image, t_ms=t_ms, index=index)


def test_latest_frame_gives_the_newest_frame_once() -> None:
    slot = LatestFrame()
    assert slot.take(timeout=0) is None
    img = np.zeros((4, 4, 3), np.uint8)
    for i in range(3):
        slot.put(frame(img, i, i * 33))
    taken = slot.take(timeout=0)
    assert taken is not None
    assert taken.index == 2
    assert slot.take(timeout=0) is None
    assert slot.overwritten == 2
    slot.put(frame(img, 3, 99))
    again = slot.take(timeout=0)
    assert again is not None
    assert again.index == 3
    assert slot.overwritten == 2


def test_latest_frame_wakes_a_waiting_taker() -> None:
    slot = LatestFrame()
    got: list[Frame | None] = []
    taker = threading.Thread(target=lambda: got.append(slot.take(timeout=5)))
    taker.start()
    time.sleep(0.02)
    slot.put(frame(np.zeros((2, 2, 3), np.uint8), 7, 0))
    taker.join(5)
    assert got
    assert got[0] is not None
    assert got[0].index == 7


# -- the scanner ------------------------------------------------------------------------


def _drain(out: queue.Queue[ScanOutput]) -> list[ScanOutput]:
    items = []
    while True:
        try:
            items.append(out.get_nowait())
        except queue.Empty:
            return items


def _wait(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.002)


ORDER_FRAME = bgr(canvas([(ORDER, F.Code128, 2, (660, 300))], size=(960, 400)))
EMPTY_FRAME = bgr(canvas([], size=(960, 400)))


def test_scanner_thread_end_to_end() -> None:
    clock = ManualClock()
    slot = LatestFrame()
    out: queue.Queue[ScanOutput] = queue.Queue()
    images = [EMPTY_FRAME, ORDER_FRAME, ORDER_FRAME, ORDER_FRAME, ORDER_FRAME]
    with Scanner(ScanSettings(rate_hz=5), slot, out, clock) as scanner:
        start = clock.monotonic()
        for i, image in enumerate(images):
            slot.put(frame(image, i * 6, 1000 + i * 200))
            _wait(lambda i=i: scanner.stats().frames == i + 1)
        assert scanner.last_reads().t_ms == 1800
        assert [r.text for r in scanner.last_reads().items] == [ORDER]
    assert not scanner.is_alive()
    assert clock.monotonic() - start >= 0.2 * (len(images) - 1)  # at most rate_hz frames/s
    items = _drain(out)
    scans = [x for x in items if isinstance(x, Scan)]
    motions = [x for x in items if isinstance(x, FrameMotion)]
    assert len(scans) == 1
    [scan] = scans
    assert scan.t == 1400  # the confirming frame, whose box the scan carries
    assert (scan.text, scan.kind, scan.symbology, scan.source) == (
        ORDER,
        "order",
        "Code128",
        "camera",
    )
    assert scan.box is not None
    x, y, w, h = scan.box
    assert x <= 660 <= x + w
    assert y <= 300 <= y + h
    assert [m.t_ms for m in motions] == [1200, 1400, 1600, 1800]
    assert motions[0].level > motions[1].level == 0.0
    stats = scanner.stats()
    assert (stats.frames, stats.reads, stats.confirmed, stats.errors) == (5, 4, 1, 0)
    assert stats.decode_ms_median is not None
    assert stats.decode_ms_p95 is not None


def test_scanner_zone_crops_and_keeps_full_frame_boxes() -> None:
    out: queue.Queue[ScanOutput] = queue.Queue()
    right = ScanSettings(zone=(0.45, 0.25, 0.55, 0.75))
    scanner = Scanner(right, LatestFrame(), out, ManualClock())
    scanner.process(frame(ORDER_FRAME, 1, 0))
    scanner.process(frame(ORDER_FRAME, 2, 200))
    [scan] = [x for x in _drain(out) if isinstance(x, Scan)]
    assert scan.box is not None
    x, y, w, h = scan.box
    assert x <= 660 <= x + w
    assert y <= 300 <= y + h
    left = Scanner(ScanSettings(zone=(0, 0, 0.45, 1)), LatestFrame(), out, ManualClock())
    left.process(frame(ORDER_FRAME, 1, 0))
    left.process(frame(ORDER_FRAME, 2, 200))
    assert not [x for x in _drain(out) if isinstance(x, Scan)]
    with pytest.raises(ValueError, match="zone"):
        Scanner(ScanSettings(zone=(1.5, 0, 0.5, 0.5)), LatestFrame(), out, ManualClock())


BIG_FRAME = bgr(canvas([(ORDER, F.Code128, 6, (900, 500))], size=(1920, 1080)))
SMALL_FRAME = bgr(canvas([(ORDER, F.Code128, 2, (900, 500))], size=(1920, 1080)))
EMPTY_1080 = bgr(canvas([], size=(1920, 1080)))


def test_scaled_first_pass_and_full_resolution_fallback() -> None:
    out: queue.Queue[ScanOutput] = queue.Queue()
    half = ScanSettings(first_scale=0.5, full_every=1, decoders=("zxing",))
    scanner = Scanner(half, LatestFrame(), out, ManualClock())
    scanner.process(frame(BIG_FRAME, 1, 0))  # read at half size: boxes in full-frame pixels
    [read] = scanner.last_reads().items
    x, y, w, h = read.box
    assert x <= 900 <= x + w
    assert y <= 500 <= y + h
    assert scanner._misses == 0
    scanner.process(frame(SMALL_FRAME, 2, 200))  # 2 px/module: 1 px at half, full size reads
    assert [d.text for d in scanner.last_reads().items] == [ORDER]
    assert scanner._misses == 1
    # full resolution on every 3rd frame the first pass found nothing in, then on every
    # frame while it reads a code the scaled pass cannot: confirmed at the 4th frame,
    # not the 6th (two full-resolution looks 3 frames apart)
    every3 = Scanner(half.model_copy(update={"full_every": 3}), LatestFrame(), out, ManualClock())
    reads = []
    for n in range(5):
        every3.process(frame(SMALL_FRAME, n, n * 200))
        reads.append(len(every3.last_reads().items))
    assert reads == [0, 0, 1, 1, 1]
    assert [x.text for x in _drain(out) if isinstance(x, Scan)] == [ORDER, ORDER]
    # the code gone: back to every 3rd
    for n in range(5, 10):
        every3.process(frame(EMPTY_1080, n, n * 200))
    assert every3._misses == 10
    assert not every3._small_in_view


def test_the_scaled_pass_is_at_most_first_width_wide() -> None:
    """By default a 1080p frame is decoded at 960 px first (half size), and a frame no
    wider than 960 px at full resolution only."""
    out: queue.Queue[ScanOutput] = queue.Queue()
    scanner = Scanner(ScanSettings(decoders=("zxing",)), LatestFrame(), out, ManualClock())
    scanner.process(frame(SMALL_FRAME, 1, 0))
    assert scanner._misses == 1  # the 960 px pass could not read it
    assert scanner.last_reads().items == ()  # and full resolution waits for the 5th miss
    scanner.process(frame(ORDER_FRAME, 2, 200))  # 960 px wide: full resolution only
    assert scanner._misses == 1
    assert [d.text for d in scanner.last_reads().items] == [ORDER]


def test_scanner_survives_a_bad_frame() -> None:
    clock = ManualClock()
    slot = LatestFrame()
    out: queue.Queue[ScanOutput] = queue.Queue()
    bad = np.zeros((400, 960, 4), np.uint8)  # four channels: no BGR conversion for it
    with Scanner(ScanSettings(), slot, out, clock) as scanner:
        for i, image in enumerate([ORDER_FRAME, bad, ORDER_FRAME]):
            slot.put(frame(image, i, i * 200))
            _wait(lambda i=i: scanner.stats().frames + scanner.stats().errors == i + 1)
        assert scanner.is_alive()
    stats = scanner.stats()
    assert stats.errors == 1
    assert stats.last_error is not None
    assert stats.last_error.startswith("scanner: ")
    assert [x.text for x in _drain(out) if isinstance(x, Scan)] == [ORDER]


def test_scanner_classifies_products_and_controls() -> None:
    image = bgr(
        canvas(
            [("4006381333931", F.EAN13, 3, (160, 200)), ("PACKSEAL-STOP", F.QRCode, 4, (480, 200))],
            size=(640, 400),
        )
    )
    out: queue.Queue[ScanOutput] = queue.Queue()
    scanner = Scanner(ScanSettings(), LatestFrame(), out, ManualClock())
    for i in range(2):
        scanner.process(frame(image, i, i * 200))
    kinds = {x.text: x.kind for x in _drain(out) if isinstance(x, Scan)}
    assert kinds == {"4006381333931": "other", "PACKSEAL-STOP": "control"}


def test_gun_typed_product_numbers_never_open_a_clip() -> None:
    from recorder.scanner import Classifier, is_gtin
    from recorder.settings import ScanSettings

    c = Classifier(ScanSettings())
    assert is_gtin("4006381333931")  # EAN-13
    assert is_gtin("036000291452")  # UPC-A
    assert is_gtin("96385074")  # EAN-8
    assert not is_gtin("4006381333932")  # wrong check digit
    assert c.classify("4006381333931", "keyboard") == "other"
    assert c.classify("4006381333932", "keyboard") == "order"
    assert c.classify("SO-2026-000123", "keyboard") == "order"
