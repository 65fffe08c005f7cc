"""Demo scene: ms to render a frame at 720p/1080p, and how often zxing-cpp reads its codes.

Renders every frame of a few orders in sequence, as the demo source does (sprites are
drawn when an order first needs them, so the max shows that cost), against a baseline of
``np.copyto`` of a frame of the same size. Then decodes every frame inside each order and
tracking code's window (``DemoScene.script``) with zxing-cpp set up as a station scanner
would be (only the formats it wants, no rotate/downscale/invert retries): the fraction
read is the demo's promise that "in window" means "readable".
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import zxingcpp

from recorder.demo import DemoScene

_FORMATS = {"Code128": zxingcpp.BarcodeFormat.Code128, "QRCode": zxingcpp.BarcodeFormat.QRCode}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _render(scene: DemoScene, frames: int) -> list[float]:
    ms = []
    for n in range(frames):
        t0 = time.perf_counter()
        scene.render(n)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def _copy(scene: DemoScene, frames: int) -> list[float]:
    src = scene.render(0)
    dst = np.empty_like(src)
    ms = []
    for _ in range(frames):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def _decode(scene: DemoScene) -> tuple[dict[str, tuple[int, int]], list[float]]:
    hits: dict[str, tuple[int, int]] = {}
    ms = []
    for event in scene.script:
        if event.kind not in ("order", "tracking"):
            continue
        key = f"{event.kind} {event.symbology}"
        for n in range(scene.frame_at(event.start_ms), scene.frame_at(event.end_ms)):
            image = scene.render(n)
            t0 = time.perf_counter()
            found = zxingcpp.read_barcodes(
                image,
                formats=zxingcpp.BarcodeFormats(list(_FORMATS.values())),
                try_rotate=False,
                try_downscale=False,
                try_invert=False,
            )
            ms.append((time.perf_counter() - t0) * 1000)
            ok, total = hits.get(key, (0, 0))
            hits[key] = (ok + any(b.text == event.text for b in found), total + 1)
    return hits, ms


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench demo", description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=3, help="orders per size (default 3)")
    p.add_argument("--sizes", default="720,1080", help="frame heights: 720, 1080 (default both)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    sizes = {"720": (1280, 720), "1080": (1920, 1080)}
    for key in args.sizes.split(","):
        w, h = sizes[key.strip()]
        t0 = time.perf_counter()
        scene = DemoScene(w, h, fps=30, seed=args.seed, orders=args.orders)
        setup = (time.perf_counter() - t0) * 1000
        assert scene.duration_ms is not None
        frames = scene.frame_at(scene.duration_ms)
        render = _render(scene, frames)
        copy = _copy(scene, frames)
        base = statistics.median(copy)
        print(f"demo scene {w}x{h}, seed {args.seed}, {args.orders} orders, {frames} frames")
        print(f"  setup (table, script)      {setup:8.1f} ms")
        print(
            f"  render ms/frame            median {statistics.median(render):.2f}"
            f"  p90 {_pct(render, 90):.2f}  p99 {_pct(render, 99):.2f}  max {max(render):.1f}"
        )
        print(f"  baseline np.copyto         median {base:.3f}  p90 {_pct(copy, 90):.3f}")
        print(f"  render / copyto            {statistics.median(render) / base:.0f}x (median)")
        hits, ms = _decode(scene)
        for kind, (ok, total) in sorted(hits.items()):
            print(f"  zxing reads {kind:18} {ok}/{total} in-window frames ({ok / total:.1%})")
        print(
            f"  zxing ms/frame             median {statistics.median(ms):.2f}"
            f"  p90 {_pct(ms, 90):.2f}"
        )
    return 0
