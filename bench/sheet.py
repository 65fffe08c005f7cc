"""Evidence sheet, derived copy and replay: seconds and bytes on a freshly recorded clip.

Records demo orders through the real station (``tests.recording.record_demo``) at the
given size, takes the first clip, and measures against a baseline from the same run: a
plain sequential OpenCV decode of the clip file (every frame once, nothing else).

- sheet: ``make_sheet`` wall time, PNG and PDF bytes, keyframes;
- derived copy: ``derive_copy`` to ``--limit`` bytes and to half the clip's size: wall
  time, bytes against the limit, resolution and bitrate chosen;
- replay: ``replay`` wall time and frames per second against the decode baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import tempfile
import time
from pathlib import Path

from storage.entries import Clip, parse_as
from tests.recording import record_demo
from verifier.derive import derive_copy
from verifier.frames import iter_frames
from verifier.replay import replay
from verifier.sheet import SheetFacts, make_sheet


def _facts(clip: Clip, sha256: str) -> SheetFacts:
    return SheetFacts(
        merchant="Bench Shop",
        station=clip.station,
        origin="packseal.local/bench/station-01",
        order_id=clip.order_id,
        tracking_ids=clip.tracking_ids,
        clip_id=clip.clip_id,
        status=clip.status,
        end_reason=clip.end_reason,
        start_ms=clip.start_ms,
        end_ms=clip.end_ms,
        zone=dt.UTC,
        clip_sha256=sha256,
        entry_hash="0" * 64,
        log_index=1,
        checkpoint_size=2,
        checkpoint_root="A" * 43 + "=",
        derived_from=None,
        qr_payload="packseal-bundle/v1\n" + "x" * 330,  # the size of a real summary
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sheet", description=__doc__)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--orders", type=int, default=1)
    parser.add_argument("--limit", type=int, default=20_000_000, help="derived copy bytes")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-sheet-") as tmp:
        work = Path(tmp)
        camera = {"width": args.width, "height": args.height, "fps": args.fps}
        t = time.perf_counter()
        rec = record_demo(work / "data", orders=args.orders, camera=camera)
        print(
            f"recorded {args.orders} order(s) at {args.width}x{args.height}@{args.fps} "
            f"in {time.perf_counter() - t:.1f} s"
        )
        store = rec.app.store
        row = min(store.clips(), key=lambda r: r.start_ms)
        clip = parse_as(Clip, store.entry(row.idx))
        path = work / "clip.mp4"
        path.write_bytes(
            store.read_blob(clip.init) + b"".join(store.read_blob(s.sha256) for s in clip.segments)
        )
        size = path.stat().st_size
        seconds = (clip.end_ms - clip.start_ms) / 1000
        print(f"clip: {seconds:.1f} s, {len(clip.segments)} segments, {size} bytes")

        t = time.perf_counter()
        frames = sum(1 for _ in iter_frames(path))
        base = time.perf_counter() - t
        print(f"baseline decode: {frames} frames in {base:.2f} s ({frames / base:.0f} fps)")

        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        t = time.perf_counter()
        sheet = make_sheet(_facts(clip, sha), clip, path)
        took = time.perf_counter() - t
        print(
            f"sheet: {took:.2f} s ({took / base:.1f}x baseline), PNG {len(sheet.png)} B, "
            f"PDF {len(sheet.pdf)} B, {len(sheet.keyframes)} keyframes"
        )

        for limit in (args.limit, size // 2):
            t = time.perf_counter()
            copy = derive_copy(path, work / f"copy-{limit}.mp4", limit)
            took = time.perf_counter() - t
            print(
                f"derived copy <= {limit} B: {took:.2f} s ({took / base:.1f}x baseline), "
                f"{copy.size} B ({copy.size / limit:.1%} of the limit), "
                f"{copy.width}x{copy.height} at {copy.video_kbps} kbit/s"
            )

        t = time.perf_counter()
        result = replay(store, clip, work / "replay.mp4")
        took = time.perf_counter() - t
        print(
            f"replay: {took:.2f} s, {result.frames / took:.0f} fps "
            f"({took / base:.1f}x baseline), verified={result.verified}"
        )
        rec.app.close()
    return 0
