"""The station in real time on the demo scene: drops, CPU cores, MB/hour, latencies.

    python -m bench record [--seconds 600] [--sizes 720p,1080p] [--views 2] [--load busy]
    python -m bench record --webcam 720p,1080p [--seconds 600] [--load busy]

Each size runs ``packseal record --source demo`` (real time, scanning on, default
settings) for ``--seconds`` of footage in a fresh store, then reads its ``--stats-json``
and the store. Baseline, in the same run: the demo source alone, paced in real time
(what producing the frames costs), so the station's own cost is the difference.

``--views 2``: a two-camera station (``station.cameras``: top and side), both views from
the demo (the side one the table's close-up), each with its own encoder and scanner; the
baseline then renders both views. Drops are given per view.

``--webcam``: a webcam-like camera in its own process, recorded by the Python path and by
ffmpeg capture (bench/webcam.py). ``--rtsp``: an IP camera (bench/rtsp.py). ``--load
busy``: a second process runs a fixed busy loop pinned to one core for the whole run
(the issue's "something else on the station PC"); the output says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
ROOT = Path(__file__).resolve().parents[1]


def _baseline(width: int, height: int, seconds: float, views: int = 1) -> float:
    """CPU cores used by rendering the demo scene at 30 fps in real time (and, for two
    views, its close-up: the second view's frames)."""
    from recorder.clock import SystemClock
    from recorder.demo import DemoScene
    from recorder.sources import DemoSource

    sources = [
        DemoSource(DemoScene(width, height, 30, seed=7), SystemClock(), closeup=v > 0)
        for v in range(views)
    ]
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        for source in sources:
            source.read()
    return (time.process_time() - cpu0) / (time.monotonic() - wall0)


def _run(
    name: str, width: int, height: int, seconds: float, workdir: Path, views: int = 1
) -> dict[str, object]:
    camera = {"width": width, "height": height, "fps": 30}
    station: dict[str, object] = {"camera": camera}
    if views > 1:
        names = ["top", "side"][:views]
        station = {"cameras": [{"view": n, "device": i, **camera} for i, n in enumerate(names)]}
    cfg = {"data_dir": str(workdir / name), "station": station}
    config = workdir / f"{name}.yaml"
    config.write_text(yaml.safe_dump(cfg))
    stats = workdir / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "packseal", "--config", str(config)]
    subprocess.run([*cmd, "init"], check=True, env=env, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.monotonic()
    subprocess.run(
        [*cmd, "record", "--source", "demo:7", "--for", str(seconds), "--stats-json", str(stats)],
        check=True,
        env=env,
        capture_output=True,
    )
    wall = time.monotonic() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    s = json.loads(stats.read_text())
    blobs = workdir / name / "blobs"
    media = sum(p.stat().st_size for p in blobs.rglob("*") if p.is_file() and len(p.name) == 64)
    footage_h = float(s["footage_seconds"]) / 3600
    clips_json = subprocess.run(
        [*cmd, "clips", "--json", "--limit", "1000"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    from recorder.demo import DemoScene

    drops = _drops_by_segment(workdir / name / "packseal.db")
    both = _clips_with_views(workdir / name / "packseal.db") if views > 1 else None
    scene = DemoScene(width, height, 30, seed=7)
    shown = [o for o in scene.orders() if o.end_ms <= float(s["footage_seconds"]) * 1000]
    sealed = {c["order_id"] for c in json.loads(clips_json)}
    return {
        "size": name,
        "views": views,
        "dropped_per_view": {str(v["view"]): v["frames_dropped"] for v in s.get("views", [])},
        "wall_s": round(wall, 1),
        "footage_s": s["footage_seconds"],
        "frames_captured": s["frames_captured"],
        "frames_dropped": s["frames_dropped"],
        "cores": round(cpu / wall, 3),
        "cores_ffmpeg": round(float(s["cpu_seconds_ffmpeg"]) / wall, 3),
        "mb_per_hour": round(media / 1e6 / footage_h, 1) if footage_h else None,
        "orders_shown": len(shown),
        "orders_sealed": len(sealed & {o.order_id for o in shown}),
        "clips_binding_every_view": both,
        "scan_decode_ms_median": s["scan_decode_ms_median"],
        "scan_decode_ms_p95": s["scan_decode_ms_p95"],
        "scan_to_open_ms": s["latency_scan_to_open_ms"],
        "close_to_sealed_ms": s["latency_close_to_sealed_ms"],
        "last_segment_to_sealed_ms": s["latency_last_segment_to_sealed_ms"],
        "drops_at": drops,
    }


def _clips_with_views(db: Path) -> int:
    """Clips whose entry binds more than one view's segments."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        (n,) = conn.execute("SELECT count(*) FROM clips WHERE views LIKE '% %'").fetchone()
    return int(n)


def _drops_by_segment(db: Path) -> list[dict[str, float]]:
    """Where frames were dropped: seconds into the footage and count, from the logged segments."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT data FROM entries ORDER BY idx").fetchall()
    segments = [e for e in (json.loads(r[0]) for r in rows) if e["kind"] == "segment"]
    if not segments:
        return []
    t0 = segments[0]["start"]
    return [
        {"at_s": round((e["start"] - t0) / 1000, 1), "seq": e["seq"], "dropped": e["dropped"]}
        for e in segments
        if e["dropped"]
    ]


def _rtsp(args: argparse.Namespace) -> int:
    from bench import rtsp

    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    if args.cameras:
        name = args.rtsp
        counts = [int(n) for n in args.cameras.split(",")]
        rows = rtsp.capacity(counts, name, SIZES[name], args.seconds)
        (out / "record-rtsp-cameras.json").write_text(json.dumps(rows, indent=2))
        print("\ncameras  dropped per camera  cores total (per camera)  server cores  load")
        for r in rows:
            print(
                f"{r['cameras']:>7}  {r['dropped_per_camera']}  {r['cores_total']} "
                f"({r['cores_per_camera']})  {r['server_cores']}  {r['load']} -> {r['load_after']}"
            )
        return 0
    modes = tuple(args.modes.split(","))
    rows = rtsp.run(
        [(n, SIZES[n]) for n in args.rtsp.split(",")], args.seconds, modes, together=args.together
    )
    (out / "record-rtsp.json").write_text(json.dumps(rows, indent=2))
    print("\nsize   mode      dropped  cores (ffmpeg)  scan ms  clips  baseline copy  server")
    for r in rows:
        for mode in modes:
            m = r[mode]
            assert isinstance(m, dict)
            print(
                f"{r['size']:6} {mode:9} {m['frames_dropped']:>7}  {m['cores']:.3f} "
                f"({m['cores_ffmpeg']:.3f})  {m['scan_decode_ms_median']}  "
                f"{m['clips_sealed']}   {r['baseline_copy_cores']}  {r['server_cores']}  "
                f"(load {r['load']} -> {r['load_after']})"
            )
    return 0


@contextlib.contextmanager
def _load(kind: str) -> Iterator[str]:
    """The second-core load the run is measured beside; its description."""
    if kind == "none":
        yield "none added (the machine's own load only)"
        return
    core = (os.cpu_count() or 1) - 1
    code = f"import os\nos.sched_setaffinity(0, {{{core}}})\nwhile True:\n    pass\n"
    busy = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield f"busy: a Python busy loop in its own process, pinned to core {core} (pid {busy.pid})"
    finally:
        busy.kill()
        busy.wait()


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _webcam(args: argparse.Namespace) -> int:
    from bench import webcam

    captures = tuple(args.captures.split(","))
    rows = webcam.run(
        [(n, SIZES[n]) for n in args.webcam.split(",")], args.seconds, captures, args.views
    )
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "record-webcam.json").write_text(json.dumps(rows, indent=2))
    print(
        "\nsize   capture  recorded  dropped (camera lost)  cores = ffmpeg + Python  "
        "CPU ms/frame  MB/min  scan ms  clips  load"
    )
    for r in rows:
        for capture in captures:
            m = r[capture]
            assert isinstance(m, dict)
            print(
                f"{r['size']:6} {capture:8} {m['frames_recorded']:>8} {m['frames_dropped']:>7}"
                f" ({m['camera_lost']})          {m['cores']:.3f} = {m['cores_ffmpeg']:.3f} + "
                f"{m['cores_python']:.3f}  {m['cpu_ms_per_frame']}  {m['mb_per_min']}  "
                f"{m['scan_decode_ms_median']}  {m['clips_sealed']}  "
                f"{m['load_before']}->{m['load_after']}"
                + (f"  per view {m['dropped_per_view']}" if m["views"] != 1 else "")
            )
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench record", description=__doc__)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--sizes", default="720p,1080p")
    ap.add_argument("--views", type=int, choices=(1, 2), default=1, help="cameras per station")
    ap.add_argument(
        "--rtsp",
        default="",
        help="IP camera over real RTSP instead (bench/rtsp.py), e.g. 720p,1080p: "
        "stream-copy vs encode, and ffmpeg copy alone as the baseline",
    )
    ap.add_argument(
        "--modes", default="copy,copy-sub,encode", help="with --rtsp: the station modes"
    )
    ap.add_argument(
        "--together", action="store_true", help="with --rtsp: baseline and modes at once"
    )
    ap.add_argument(
        "--cameras",
        default="",
        help="with --rtsp SIZE: N[,M...] cameras at once, a copy-mode station each, scanning "
        "its sub-stream: drops per camera and cores (bench/rtsp.py capacity)",
    )
    ap.add_argument(
        "--webcam",
        default="",
        help="a webcam-like camera process instead (bench/webcam.py), e.g. 720p,1080p: the "
        "Python path vs ffmpeg capture",
    )
    ap.add_argument(
        "--captures",
        default="python,ffmpeg",
        help="with --webcam: the capture paths to run, in order (python is the baseline)",
    )
    ap.add_argument("--load", choices=("none", "busy"), default="none")
    args = ap.parse_args(argv)
    with _load(args.load) as load:
        print(f"second-core load: {load}\nuptime before: {_uptime()}", flush=True)
        code = _main(args)
        print(f"second-core load: {load}\nuptime after: {_uptime()}", flush=True)
    return code


def _main(args: argparse.Namespace) -> int:
    if args.webcam:
        return _webcam(args)
    if args.rtsp:
        return _rtsp(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="packseal-bench-") as tmp:
        for name in args.sizes.split(","):
            width, height = SIZES[name]
            base = _baseline(width, height, min(30.0, args.seconds), args.views)
            result = _run(name, width, height, args.seconds, Path(tmp), args.views)
            result["baseline_render_cores"] = round(base, 3)
            result["station_cores_over_baseline"] = round(float(result["cores"]) - base, 3)  # type: ignore[arg-type]
            results.append(result)
            print(json.dumps(result, indent=2), flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "record.json").write_text(json.dumps(results, indent=2))
    print("\nsize   dropped  cores (ffmpeg)  MB/h   orders  scan->open p95  seal p95 (ms)")
    for r in results:

        def p95(d: object) -> object:
            return d["p95"] if isinstance(d, dict) else "-"

        print(
            f"{r['size']:6} {r['frames_dropped']:>7}  {r['cores']:.2f} ({r['cores_ffmpeg']:.2f})"
            f"     {r['mb_per_hour']:>6}  {r['orders_sealed']}/{r['orders_shown']}"
            f"     {p95(r['scan_to_open_ms'])}            {p95(r['last_segment_to_sealed_ms'])}"
            + (f"  per view {r['dropped_per_view']}" if r["views"] != 1 else "")
        )
    return 0
