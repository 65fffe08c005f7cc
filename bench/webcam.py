"""USB-webcam recording for ``python -m bench record --webcam SIZES``: the two capture
paths on the same webcam-like camera, in the same run.

The camera is tests/webcam.py in its own process (its CPU is the camera's, not counted):
the demo scene's first ``LOOP_S`` seconds as MJPEG, looped, 30 fps in real time, each frame
stamped with its capture time, 32 buffers, frames lost when they are full (counted: the
truth beside the station's drop count). The station runs in a process of its own
(bench/_webcam_station.py: ``packseal record``'s station with that camera as its source),
once per path, a fresh camera each time:

- ``python``: every frame read, decoded (OpenCV), overlaid, converted and piped to ffmpeg
  by Python (``station.camera.capture: python``, the baseline);
- ``ffmpeg``: ffmpeg reads the camera, burns in the caption, encodes; Python gets 5 scan
  frames a second (``capture: ffmpeg``).

Cores = CPU of the station's process tree (Python and its ffmpeg) / wall time, start-up
and ``init`` included.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOOP_S = 20


def _drops_by_segment(db: Path) -> list[dict[str, float]]:
    from bench.record import _drops_by_segment as drops

    return drops(db)


def _frames_recorded(db: Path) -> int:
    """Frames in the logged segments (a starved station records fewer than 30 a second)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT data FROM entries ORDER BY idx").fetchall()
    return sum(e["frames"] for e in (json.loads(r[0]) for r in rows) if e["kind"] == "segment")


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _station(
    capture: str, size: tuple[int, int], seconds: float, work: Path, views: int = 1
) -> dict[str, object]:
    from tests.webcam import FakeWebcam

    work.mkdir()
    camera = {"width": size[0], "height": size[1], "fps": 30, "capture": capture}
    station: dict[str, object] = {"camera": camera}
    if views == 2:  # top and side, each scanning, each its own camera process
        station = {
            "cameras": [{"view": v, "device": i, **camera} for i, v in enumerate(("top", "side"))]
        }
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(work / "data"), "station": station}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "packseal", "--config", str(config)]
    subprocess.run([*cmd, "init"], check=True, env=env, capture_output=True)
    cams = [
        FakeWebcam(work / f"cam{i}.sock", size=size, demo=7 + i, loop=LOOP_S) for i in range(views)
    ]
    stats = work / "stats.json"
    load = os.getloadavg()[0]
    try:
        cpu0, wall0 = _children_cpu(), time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "bench._webcam_station", str(config),
             ",".join(str(c.socket) for c in cams), f"{size[0]}x{size[1]}", str(seconds),
             str(stats)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        wall = time.monotonic() - wall0
        cpu = _children_cpu() - cpu0
    finally:
        truths = [c.stop() for c in cams]
    truth = {k: sum(int(t.get(k) or 0) for t in truths) for k in ("lost", "sent")}
    s = json.loads(stats.read_text())
    recorded = _frames_recorded(work / "data" / "packseal.db")
    blobs = work / "data" / "blobs"
    media = sum(p.stat().st_size for p in blobs.rglob("*") if p.is_file() and len(p.name) == 64)
    footage_min = float(s["footage_seconds"]) / 60
    clips = subprocess.run(
        [*cmd, "clips", "--json", "--limit", "1000"], check=True, env=env, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    return {
        "capture": capture,
        "wall_s": round(wall, 1),
        "footage_s": s["footage_seconds"],
        "views": views,
        "frames_dropped": s["frames_dropped"],
        "dropped_per_view": {v["view"]: v["frames_dropped"] for v in s.get("views", [])},
        "camera_lost": truth.get("lost"),
        "camera_sent": truth.get("sent"),
        "cores": round(cpu / wall, 3),
        "frames_recorded": recorded,
        # CPU per recorded frame: what each frame cost, however many the machine let through
        "cpu_ms_per_frame": round(cpu * 1000 / recorded, 2) if recorded else None,
        "cores_ffmpeg": round(float(s["cpu_seconds_ffmpeg"]) / wall, 3),
        "cores_python": round((cpu - float(s["cpu_seconds_ffmpeg"])) / wall, 3),
        # the sealed media (segments and init sections) per minute of footage, all views
        "mb_per_min": round(media / 1e6 / footage_min, 2) if footage_min else None,
        "scan_frames": s["scan_frames"],
        "scan_decode_ms_median": s["scan_decode_ms_median"],
        "clips_sealed": len(json.loads(clips)),
        "drops_at": _drops_by_segment(work / "data" / "packseal.db"),
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def run(
    sizes: list[tuple[str, tuple[int, int]]],
    seconds: float,
    captures: tuple[str, ...] = ("python", "ffmpeg"),
    views: int = 1,
) -> list[dict[str, object]]:
    import tempfile

    sys.path.insert(0, str(ROOT))
    results = []
    with tempfile.TemporaryDirectory(prefix="packseal-bench-webcam-") as tmp:
        for name, size in sizes:
            row: dict[str, object] = {"size": name}
            for capture in captures:
                row[capture] = _station(
                    capture, size, seconds, Path(tmp) / f"{name}-{capture}", views
                )
                print(json.dumps(row[capture]), flush=True)
            results.append(row)
    return results
