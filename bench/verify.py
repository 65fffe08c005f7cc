"""Verify: bundle throughput on a 1-hour clip vs sha256sum of the same file; export times.

    python -m bench verify [--minutes 60] [--repeat 3] [--keep DIR]

Records demo footage through the real station and ffmpeg: a 5-minute order, then one of
``--minutes`` (scanner-gun scans injected by a wrapper source, as a gun would type them).
640x360 at 10 fps, ultrafast, CRF 0 gives ~390 MB per hour, the size of 720p footage at
the default settings (FIELD-NOTES: 217-358 MB/hour), in ~2 s per minute of footage; the
verifier's work depends on bytes and fragments (1800 per hour), not on the picture.

Then exports both bundles (real sheets), and times ``verify_bundle`` on the long one
against ``sha256sum`` and ``hashlib.file_digest`` of its clip.mp4 in the same run (warm
page cache, best of ``--repeat``). Verifying hashes every byte once, in place in the zip,
so the goal is to be faster than sha256sum. Peak memory of a verify in a fresh process
shows it does not grow with the clip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCH_MS = 1_795_000_000_000
SIZE = {"width": 640, "height": 360, "fps": 10}


class _Gun:
    """A scanner gun (fake hardware): order scans at given offsets of source time."""

    def __init__(self, source: object, at_ms: list[int]) -> None:
        self.source = source
        self.at_ms = at_ms
        self.events: object = None
        self._t0: int | None = None
        self._next = 0

    @property
    def width(self) -> int:
        return self.source.width  # type: ignore[attr-defined, no-any-return]

    @property
    def height(self) -> int:
        return self.source.height  # type: ignore[attr-defined, no-any-return]

    @property
    def fps(self) -> Fraction:
        return self.source.fps  # type: ignore[attr-defined, no-any-return]

    def read(self) -> object:
        from storage.entries import Scan

        frame = self.source.read()  # type: ignore[attr-defined]
        if frame is None:
            return None
        self._t0 = frame.t_ms if self._t0 is None else self._t0
        while self._next < len(self.at_ms) and frame.t_ms - self._t0 >= self.at_ms[self._next]:
            text = f"BENCH-{self._next + 1:04d}"
            self.events.put(Scan(frame.t_ms, text, "order", "keyboard", "gun"))  # type: ignore[attr-defined]
            self._next += 1
        return frame

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self.source.close()  # type: ignore[attr-defined]


def _record(data_dir: Path, minutes: float) -> object:
    from packseal.app import App
    from packseal.config import parse_config
    from packseal.runner import make_station
    from recorder.clock import SystemClock
    from recorder.demo import DemoScene
    from recorder.sources import DemoSource

    cfg = parse_config(
        {
            "data_dir": str(data_dir),
            "merchant": {"name": "Bench Shop", "id": "bench"},
            "station": {
                "camera": SIZE,
                "scan": {"rate_hz": 0.01},  # the gun scans; the camera scanner only costs time
                "encoder": {"preset": "ultrafast", "crf": 0},
                "clips": {"idle_seconds": 3600, "max_seconds": 4 * 3600},
            },
        },
        base=data_dir.parent,
    )
    app = App(cfg, clock=SystemClock())
    app.init()
    scene = DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=5)
    # Order 1 at 1 s, order 2 at 5 min (closing order 1), the source ends --minutes later.
    end_ms = round((5 + minutes) * 60_000) + 1000
    source = _Gun(
        DemoSource(scene, SystemClock(), realtime=False, epoch_ms=EPOCH_MS, limit_ms=end_ms),
        [1000, 301_000],
    )
    station = make_station(app, source, realtime=False)  # type: ignore[arg-type]
    source.events = station.events
    station.run()
    return app


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def _verify_rss(bundle: Path, trust: Path) -> float:
    """Peak RSS (MB) of a fresh interpreter that imports the verifier and verifies once."""
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from storage import TrustFile\n"
        "from verifier.verify import verify_bundle\n"
        f"before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"verify_bundle(Path({str(bundle)!r}), TrustFile.from_bytes(Path({str(trust)!r})"
        ".read_bytes()))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(before / 1024, after / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after = map(float, done.stdout.split())
    return after - before


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench verify", description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long clip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the store and bundles here")
    args = parser.parse_args(argv)
    if shutil.which("sha256sum") is None:
        print("error: sha256sum is not installed (coreutils)", file=sys.stderr)
        return 2

    from storage import ClipQuery
    from verifier.bundle import export_bundle
    from verifier.verify import verify_bundle

    work = args.keep or Path(tempfile.mkdtemp(prefix="packseal-bench-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        app = _record(work / "data", args.minutes)
        recorded = time.perf_counter() - t0
        store = app.store  # type: ignore[attr-defined]
        rows = sorted(store.clips(ClipQuery(limit=10)), key=lambda r: r.start_ms)
        short, long = rows[0], rows[-1]
        print(
            f"recorded {5 + args.minutes:.0f} min of {SIZE['width']}x{SIZE['height']} demo "
            f"footage in {recorded:.1f} s: clips of {short.duration_ms / 60_000:.1f} and "
            f"{long.duration_ms / 60_000:.1f} min, {long.bytes / 1e6:.0f} MB for the long one"
        )
        trust = app.trust_file()  # type: ignore[attr-defined]
        trust_path = work / "trust.json"
        trust_path.write_bytes(trust.to_bytes())
        certification = app.certification()  # type: ignore[attr-defined]
        timings: dict[str, float] = {}
        for name, row in (("short", short), ("long", long)):
            out = work / f"{name}.zip"
            t0 = time.perf_counter()
            export_bundle(store, certification, row.clip_id, out)
            timings[f"export_{name}"] = time.perf_counter() - t0
            print(
                f"export {row.duration_ms / 60_000:5.1f} min clip: "
                f"{timings[f'export_{name}']:6.2f} s -> {out.stat().st_size / 1e6:.1f} MB"
            )
        bundle = work / "long.zip"
        clip_file = work / "clip.mp4"
        with (
            zipfile.ZipFile(bundle) as zf,
            zf.open("clip.mp4") as src,
            open(clip_file, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        size_mb = clip_file.stat().st_size / 1e6

        def sha256sum() -> None:
            subprocess.run(["sha256sum", str(clip_file)], check=True, capture_output=True)

        def file_digest() -> None:
            with open(clip_file, "rb") as f:
                hashlib.file_digest(f, "sha256")

        def verify() -> None:
            verify_bundle(bundle, trust)

        verify()  # warm the page cache for every contender alike
        sha256sum()
        timings["verify"] = _best(args.repeat, verify)
        timings["sha256sum"] = _best(args.repeat, sha256sum)
        timings["file_digest"] = _best(args.repeat, file_digest)
        timings["verify_short"] = _best(
            args.repeat, lambda: verify_bundle(work / "short.zip", trust)
        )
        rss = _verify_rss(bundle, trust_path)
        print(f"\nthe long clip: {size_mb:.0f} MB, {long.segment_count} fragments")
        for label, key in (
            ("verify_bundle", "verify"),
            ("sha256sum", "sha256sum"),
            ("hashlib.file_digest", "file_digest"),
        ):
            secs = timings[key]
            print(f"  {label:<20} {secs:6.3f} s  {size_mb / secs:7.0f} MB/s")
        print(
            f"  verify / sha256sum   {timings['sha256sum'] / timings['verify']:.2f}x faster "
            f"(goal: > 1); verify / file_digest {timings['file_digest'] / timings['verify']:.2f}x"
        )
        print(f"  verify peak memory   +{rss:.1f} MB over the interpreter's (fresh process)")
        print(f"  verify the 5-min     {timings['verify_short']:.3f} s")
        print(
            json.dumps(
                {"size_mb": round(size_mb, 1), **{k: round(v, 4) for k, v in timings.items()}}
            )
        )
        app.close()  # type: ignore[attr-defined]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
