"""Barcode decoders on packing-table frames: ms per call and codes read, zxing-cpp vs pyzbar.

``python -m bench scan [--frames N] [--sizes 720,1080] [--demo-orders N] [--seed S]``
(about 2 minutes on 2 cores with the defaults).

Synthetic frames: a wood-grain table, a carton, printed text, and a pick list carrying one
code (Code128 at 2 and 3 px/module, QR at 3 px/module), turned 0° or 6-8°, sharp or slightly
blurred (Gaussian sigma 1.0), with sensor noise and MJPG-like JPEG compression. Extra rows
show what each zxing-cpp flag buys (a code turned 90°, a big blurred code, a light-on-dark
QR). Times are per call on a gray frame, the baseline is ``cv2.cvtColor`` BGR->gray of the
same frames, and "empty" frames (no code) are the scanner's steady state. Then the demo
scene (recorder/demo.py): per-frame success on each scripted code, and the scanner's
confirmed events over the whole scene at 5 Hz.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

Image = npt.NDArray[np.uint8]
F = zxingcpp.BarcodeFormat
TEXT = "SO-2026-004217"


# -- frames ----------------------------------------------------------------------------


def _table(w: int, h: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    grain = rng.normal(0, 18, (max(1, h // 8), max(1, w // 64))).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (60, 95, 140)
    img += cv2.resize(grain, (w, h))[..., None]
    img *= np.linspace(0.85, 1.1, w, dtype=np.float32)[None, :, None]  # uneven light
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    s = w / 1280
    x0, y0 = int(w * 0.58), int(h * 0.12)
    cv2.rectangle(u8, (x0, y0), (x0 + w // 3, y0 + h // 2), (90, 150, 200), -1)
    for i in range(5):
        y = int(h * 0.1 + i * h * 0.1)
        cv2.putText(u8, f"FRAGILE {i}x", (int(w * 0.62), y + y0), 0, s, (40, 40, 40), 2)
    return u8.astype(np.float32)


def _pick_list(text: str, fmt: F, ppm: int) -> npt.NDArray[np.float32]:
    code = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=ppm), dtype=np.uint8)
    if fmt not in (F.QRCode, F.DataMatrix):
        size = (code.shape[1], 40 * ppm)
        code = np.asarray(cv2.resize(code, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    ch, cw = code.shape
    pad = 10 * ppm
    paper = np.full((ch + 2 * pad + 30, max(cw + 2 * pad, 200)), 240, np.uint8)
    paper[pad : pad + ch, pad : pad + cw] = code
    cv2.putText(paper, "PICK LIST  qty 2", (pad, paper.shape[0] - 12), 0, 0.5, 40, 1)
    return paper.astype(np.float32)


def table_frame(
    w: int,
    h: int,
    code: tuple[str, F, int] | None,
    angle: float,
    blur: float,
    seed: int,
    *,
    invert: bool = False,
) -> Image:
    """A BGR table frame with one code on a pick list somewhere fully in view."""
    rng = np.random.default_rng(seed)
    img = _table(w, h, rng)
    if code is not None:
        paper = _pick_list(*code)
        if invert:
            paper = 255 - paper
        ph, pw = paper.shape
        a = np.deg2rad(angle)
        bw = abs(pw * np.cos(a)) + abs(ph * np.sin(a))
        bh = abs(pw * np.sin(a)) + abs(ph * np.cos(a))
        cx = rng.uniform(bw / 2 + 8, w - bw / 2 - 8) if w - bw > 16 else w / 2
        cy = rng.uniform(bh / 2 + 8, h - bh / 2 - 8) if h - bh > 16 else h / 2
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        m[0, 2] += cx - pw / 2
        m[1, 2] += cy - ph / 2
        mask = cv2.warpAffine(np.ones_like(paper), m, (w, h))[..., None]
        sheet = cv2.warpAffine(paper, m, (w, h))[..., None] * rng.uniform(0.8, 1.0)
        img = img * (1 - mask) + sheet * mask
    if blur:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), blur), np.float32)
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8)


# -- decoders under test ---------------------------------------------------------------


def _decoders() -> dict[str, Callable[[Image], list[str]]]:
    from pyzbar import pyzbar

    from recorder import scanner

    fmts = scanner._ZXING_FORMATS

    def zx(rotate: bool, invert: bool, downscale: bool) -> Callable[[Image], list[str]]:
        def run(gray: Image) -> list[str]:
            found = zxingcpp.read_barcodes(
                gray,
                formats=fmts,
                try_rotate=rotate,
                try_invert=invert,
                try_downscale=downscale,
            )
            return [b.text for b in found]

        return run

    def pz(half: bool, linear: bool) -> Callable[[Image], list[str]]:
        symbols = [pyzbar.ZBarSymbol[s] for s in scanner._PYZBAR_SYMBOLS] if linear else None

        def run(gray: Image) -> list[str]:
            if half:
                size = (gray.shape[1] // 2, gray.shape[0] // 2)
                gray = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
            return [r.data.decode("utf-8", "replace") for r in pyzbar.decode(gray, symbols)]

        return run

    def ours(gray: Image) -> list[str]:
        return [d.text for d in scanner.decode(gray, ("zxing", "pyzbar"))]

    def both(gray: Image) -> list[str]:
        return [d.text for d in scanner._zxing(gray) + scanner._pyzbar(gray)]

    return {
        "zx-chosen": lambda g: [d.text for d in scanner._zxing(g)],
        "zx-all-on": zx(True, True, True),
        "zx-off": zx(False, False, False),
        "zx-rot": zx(True, False, False),
        "zx-down": zx(False, False, True),
        "pz-full": pz(False, False),
        "pz-half": pz(True, False),
        "pz-linear": pz(False, True),
        "combined": ours,
        "both-always": both,
    }


# -- the run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    code: tuple[str, F, int]
    angle: float  # degrees; 7 means 6-8 either way, drawn per frame
    blur: float
    invert: bool = False
    required: bool = True  # the field-notes table; extras justify the zxing flags


def _cases(w: int) -> list[Case]:
    out = []
    for label, fmt, ppm in (("Code128 2px", F.Code128, 2), ("Code128 3px", F.Code128, 3)):
        out += _grid(label, (TEXT, fmt, ppm))
    out += _grid("QR 3px", (TEXT, F.QRCode, 3))
    big = 5 if w < 1600 else 8  # a pick list held close to the camera, out of focus
    out += [
        Case("x Code128 3px at 90°", (TEXT, F.Code128, 3), 90, 0.7, required=False),
        Case(
            f"x Code128 {big}px blur {big / 2:g}", (TEXT, F.Code128, big), 3, big / 2, False, False
        ),
        Case("x QR 3px light-on-dark", (TEXT, F.QRCode, 3), 0, 0.7, True, False),
    ]
    return out


def _grid(label: str, code: tuple[str, F, int]) -> list[Case]:
    return [
        Case(f"{label} {a}° {'blur' if b else 'sharp'}", code, a, b)
        for a in (0, 7)
        for b in (0.0, 1.0)
    ]


def _angle(case: Case, rng: np.random.Generator) -> float:
    if case.angle == 7:
        return float(rng.choice([-1, 1]) * rng.uniform(6, 8))
    return case.angle + float(rng.uniform(-0.5, 0.5))


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _synthetic(w: int, h: int, n: int, seed: int) -> None:
    decoders = _decoders()
    names = list(decoders)
    cases = _cases(w)
    frames: list[tuple[Case, Image]] = []
    for i, c in enumerate(cases):
        for k in range(n):
            rng = np.random.default_rng([seed, i, k])
            s = int(rng.integers(1 << 30))
            frames.append(
                (c, table_frame(w, h, c.code, _angle(c, rng), c.blur, s, invert=c.invert))
            )
    empty = [table_frame(w, h, None, 0, 0, seed * 1000 + k) for k in range(n)]

    cvt: list[float] = []
    grays = []
    for _, bgr in frames:
        t0 = time.perf_counter()
        grays.append(np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), np.uint8))
        cvt.append((time.perf_counter() - t0) * 1000)
    empty_grays = [np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), np.uint8) for f in empty]

    hits = {name: {c.name: 0 for c in cases} for name in names}
    code_ms: dict[str, list[float]] = {name: [] for name in names}
    empty_ms: dict[str, list[float]] = {name: [] for name in names}
    for (case, _), gray in zip(frames, grays, strict=True):
        for name in names:
            t0 = time.perf_counter()
            texts = decoders[name](gray)
            code_ms[name].append((time.perf_counter() - t0) * 1000)
            hits[name][case.name] += TEXT in texts
    for gray in empty_grays:
        for name in names:
            t0 = time.perf_counter()
            decoders[name](gray)
            empty_ms[name].append((time.perf_counter() - t0) * 1000)

    base = statistics.median(cvt)
    width = 27
    print(f"\n{w}x{h}: frames read out of {n} per row (x rows: what a zxing flag buys)")
    print("case".ljust(width) + "".join(name.rjust(12) for name in names))
    for c in cases:
        print(c.name.ljust(width) + "".join(f"{hits[m][c.name]}/{n}".rjust(12) for m in names))
    for label in ("Code128 2px", "Code128 3px", "QR 3px"):
        rows = [c.name for c in cases if c.required and c.name.startswith(label + " ")]
        line = f"{label}, 4 rows".ljust(width)
        line += "".join(f"{sum(hits[m][r] for r in rows)}/{n * len(rows)}".rjust(12) for m in names)
        print(line)
    for label, table in (("code frames", code_ms), ("empty frames", empty_ms)):
        for q, qname in ((50, "median"), (90, "p90")):
            line = f"ms {qname}, {label}".ljust(width)
            print(line + "".join(f"{_ms(table[m], q):.1f}".rjust(12) for m in names))
    ratio = "x cvtColor, empty median".ljust(width)
    print(ratio + "".join(f"{statistics.median(empty_ms[m]) / base:.0f}x".rjust(12) for m in names))
    print(f"baseline cv2.cvtColor BGR->gray: median {base:.2f} ms, p90 {_ms(cvt, 90):.2f} ms")


def _demo(w: int, h: int, orders: int, seed: int) -> None:
    try:
        from recorder.demo import DemoScene
    except ImportError:
        print("\ndemo scene: recorder/demo.py is not there; skipped")
        return
    import queue

    from recorder.clock import SystemClock
    from recorder.scanner import LatestFrame, Scanner, ScanOutput, decode
    from recorder.settings import ScanSettings
    from recorder.sources import Frame
    from storage.entries import Scan

    scene = DemoScene(width=w, height=h, fps=30, seed=seed, orders=orders)
    step = 200  # ms: the scanner's default 5 Hz
    per_kind: dict[str, list[int]] = {}
    times: list[float] = []
    for event in scene.script:
        for t in range(event.start_ms, event.end_ms, step):
            index = -(-t * scene.fps // 1000)
            gray = np.asarray(cv2.cvtColor(scene.render(index), cv2.COLOR_BGR2GRAY), np.uint8)
            t0 = time.perf_counter()
            texts = [d.text for d in decode(gray, ("zxing", "pyzbar"))]
            times.append((time.perf_counter() - t0) * 1000)
            per_kind.setdefault(f"{event.kind} {event.symbology}", []).append(event.text in texts)
    print(
        f"\ndemo scene {w}x{h}, seed {seed}, {orders} orders:"
        " frames at 5 Hz inside each code's window"
    )
    for kind, ok in sorted(per_kind.items()):
        print(f"  {kind:22} read in {sum(ok)}/{len(ok)} frames")
    print(f"  decode ms per frame: median {statistics.median(times):.1f}, p90 {_ms(times, 90):.1f}")

    out: queue.Queue[ScanOutput] = queue.Queue()
    scanner = Scanner(ScanSettings(), LatestFrame(), out, SystemClock())
    assert scene.duration_ms is not None
    n_frames = 0
    for t in range(0, scene.duration_ms, step):
        index = -(-t * scene.fps // 1000)
        scanner.process(Frame(scene.render(index), round(index * 1000 / scene.fps), index))
        n_frames += 1
    scans = []
    while not out.empty():
        item = out.get()
        if isinstance(item, Scan):
            scans.append(item)
    expected = {e.text: e for e in scene.script}
    print(f"  scanner over the whole scene ({n_frames} frames at 5 Hz):")
    for e in scene.script:
        got = [s for s in scans if s.text == e.text]
        delay = ", ".join(f"t {s.t - e.start_ms:+d} ms, kind {s.kind}" for s in got) or "-"
        print(f"    {e.kind:8} {e.text:18} confirmed {len(got)}x  ({delay})")
    stray = [s for s in scans if s.text not in expected]
    print(f"    unexpected scans: {len(stray)} {[s.text for s in stray][:5]}")
    stats = scanner.stats()
    print(f"    decode ms median {stats.decode_ms_median}, p95 {stats.decode_ms_p95}")


def _first_pass(w: int, h: int, orders: int, seed: int, n: int) -> None:
    """The scanner (gray frames, as ffmpeg capture hands them) at full resolution only vs
    a scaled first pass with the full-resolution fallback: CPU ms per frame (this thread's
    CPU time, less sensitive to the machine's load than wall time) on the demo scene at
    5 Hz and on empty textured tables (the steady state), and whether each synthetic
    code (Code128 2/3 px, QR 3 px per module; 0/7 degrees, sharp/blurred; frames apart
    from the ones the defaults were chosen on when ``--seed`` differs) is confirmed
    within the 2 s confirmation window (10 frames at 5 Hz, sensor noise differing)."""
    import queue

    from recorder.clock import SystemClock
    from recorder.demo import DemoScene
    from recorder.scanner import LatestFrame, Scanner, ScanOutput
    from recorder.settings import FULL_EVERY, ScanSettings
    from recorder.sources import Frame
    from storage.entries import Scan

    def gray(image: Image) -> Image:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)

    scene = DemoScene(width=w, height=h, fps=30, seed=seed, orders=orders)
    assert scene.duration_ms is not None
    frames = [gray(scene.render(-(-t * 30 // 1000))) for t in range(0, scene.duration_ms, 200)]
    expected = {e.text for e in scene.script}
    rng = np.random.default_rng(seed)
    synthetic: list[tuple[str, Image]] = []
    for i, c in enumerate(x for x in _cases(w) if x.required):
        for k in range(n):
            image = table_frame(w, h, c.code, _angle(c, rng), c.blur, seed * 1000 + i * 50 + k)
            synthetic.append((c.name.rsplit(" ", 2)[0], gray(image)))
    empty = [gray(table_frame(w, h, None, 0, 0, seed * 7 + k)) for k in range(8)]
    configs = [(1.0, None, 1), (1.0, 960, 1), (1.0, 960, 3), (1.0, 960, FULL_EVERY)]
    print(
        f"\nfirst pass, {w}x{h} gray, demo scene seed {seed} ({len(frames)} frames at 5 Hz, "
        f"{len(expected)} codes), {len(synthetic)} synthetic codes, CPU ms per frame"
    )
    print("first_scale first_width full_every  demo confirmed  demo ms  empty ms  "
          "cores@5Hz demo/empty  synthetic confirmed in 2 s (mean frames)")  # fmt: skip
    for scale, width, every in configs:
        settings = ScanSettings(first_scale=scale, first_width=width, full_every=every)
        out: queue.Queue[ScanOutput] = queue.Queue()
        scanner = Scanner(settings, LatestFrame(), out, SystemClock())
        demo_ms: list[float] = []
        for k, image in enumerate(frames):
            t0 = time.thread_time()
            scanner.process(Frame(image, k * 200, k * 6))
            demo_ms.append((time.thread_time() - t0) * 1000)
        got = {x.text for x in list(out.queue) if isinstance(x, Scan)}
        scanner = Scanner(settings, LatestFrame(), queue.Queue(), SystemClock())
        empty_ms: list[float] = []
        for k in range(40):
            t0 = time.thread_time()
            scanner.process(Frame(empty[k % len(empty)], k * 200, k * 6))
            empty_ms.append((time.thread_time() - t0) * 1000)
        when: dict[str, list[int | None]] = {}
        for name, image in synthetic:
            s2 = Scanner(settings, LatestFrame(), queue.Queue(), SystemClock())
            first: int | None = None
            for k in range(10):
                noise = np.random.default_rng(k).integers(-3, 4, image.shape, dtype=np.int16)
                noisy = np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)
                s2.process(Frame(noisy, k * 200, k * 6))
                if s2.stats().confirmed:
                    first = k + 1
                    break
            when.setdefault(name, []).append(first)
        syn = "  ".join(
            f"{name} {sum(x is not None for x in v)}/{len(v)} "
            f"({statistics.fmean([x for x in v if x is not None] or [0]):.1f})"
            for name, v in when.items()
        )
        dm, em = statistics.fmean(demo_ms), statistics.fmean(empty_ms)
        cores = f"{dm * 5 / 1000:.3f}/{em * 5 / 1000:.3f}"
        print(
            f"{scale:11} {width!s:>11} {every:10}  {len(got & expected):>6}/{len(expected)} "
            f"{len(got - expected)} stray {dm:7.1f} {em:9.1f}  {cores}  {syn}",
            flush=True,
        )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench scan", description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=10, help="per case; 0 skips (default 10)")
    p.add_argument("--sizes", default="720,1080", help="frame heights: 720, 1080 (default both)")
    p.add_argument("--demo-orders", type=int, default=3, help="0 skips the demo scene")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--first-pass", action="store_true", help="only the first-pass comparison")
    args = p.parse_args(argv)
    sizes = {"720": (1280, 720), "1080": (1920, 1080)}
    for key in args.sizes.split(","):
        w, h = sizes[key.strip()]
        if args.first_pass:
            _first_pass(w, h, args.demo_orders or 2, args.seed, args.frames or 3)
            continue
        if args.frames:
            _synthetic(w, h, args.frames, args.seed)
        if args.demo_orders:
            _demo(w, h, args.demo_orders, args.seed)
    return 0
