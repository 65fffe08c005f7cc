"""IP-camera recording for ``python -m bench record --rtsp SIZES``: a real RTSP server
(tests/rtsp_server.py, GStreamer) streams the demo scene as an H.264 camera would (30 fps,
2 s GOP); the station records it in stream-copy and in encode mode.

Per size, all in the same run:

- baseline: ``ffmpeg -c copy`` of the stream into the station's HLS fMP4 segments alone
  (what recording one camera costs, with nothing decoded);
- ``copy``: ``packseal record`` with ``station.camera.mode: copy`` (recording + the decode
  at scan rate for scanning + Python's scanner);
- ``encode``: the same camera decoded, overlaid and re-encoded by the station.

The server's own CPU is not counted (it is the camera).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _video(path: Path, width: int, height: int, seconds: float) -> None:
    import imageio_ffmpeg

    from recorder.demo import DemoScene

    scene = DemoScene(width, height, 30, seed=7)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", "30"]
    cmd += ["-i", "pipe:", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
    cmd += ["-g", "60", "-bf", "0", "-pix_fmt", "yuv420p", str(path)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as p:
        assert p.stdin is not None
        for n in range(round(seconds * 30)):
            p.stdin.write(scene.render(n).tobytes())
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("ffmpeg could not write the bench video")


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _baseline_copy(url: str, seconds: float, out: Path) -> float:
    import imageio_ffmpeg

    out.mkdir()
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error"]
    cmd += ["-rtsp_transport", "tcp", "-i", url, "-t", str(seconds), "-c:v", "copy"]
    cmd += ["-f", "hls", "-hls_time", "2", "-hls_list_size", "0", "-hls_segment_type", "fmp4"]
    cmd += ["-hls_segment_filename", str(out / "seg_%06d.m4s"), str(out / "index.m3u8")]
    cpu0, wall0 = _children_cpu(), time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    return (_children_cpu() - cpu0) / (time.monotonic() - wall0)


def _station(
    url: str, mode: str, seconds: float, work: Path, size: tuple[int, int]
) -> dict[str, object]:
    work.mkdir()
    name = mode
    camera = {"device": url, "width": size[0], "height": size[1], "fps": 30, "mode": mode}
    config = work / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(work / name), "station": {"camera": camera}}))
    stats = work / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "packseal", "--config", str(config)]
    subprocess.run([*cmd, "init"], check=True, env=env, capture_output=True)
    cpu0, wall0 = _children_cpu(), time.monotonic()
    subprocess.run(
        [*cmd, "record", "--source", "camera", "--for", str(seconds), "--stats-json", str(stats)],
        check=True,
        env=env,
        capture_output=True,
    )
    wall = time.monotonic() - wall0
    cpu = _children_cpu() - cpu0
    s = json.loads(stats.read_text())
    clips = subprocess.run(
        [*cmd, "clips", "--json", "--limit", "1000"], check=True, env=env, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    return {
        "mode": mode,
        "wall_s": round(wall, 1),
        "footage_s": s["footage_seconds"],
        "frames_dropped": s["frames_dropped"],
        "scan_frames": s["scan_frames"],
        "cores": round(cpu / wall, 3),
        "cores_ffmpeg": round(float(s["cpu_seconds_ffmpeg"]) / wall, 3),
        "clips_sealed": len(json.loads(clips)),
        "scan_decode_ms_median": s["scan_decode_ms_median"],
    }


def run(sizes: list[tuple[str, tuple[int, int]]], seconds: float) -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT))
    from tests.rtspcam import RtspServer

    results = []
    with tempfile.TemporaryDirectory(prefix="packseal-bench-rtsp-") as tmp:
        work = Path(tmp)
        for name, size in sizes:
            video = work / f"{name}.mp4"
            _video(video, *size, seconds + 20)
            row: dict[str, object] = {"size": name, "load": os.getloadavg()[0]}
            server = RtspServer(video)
            try:
                row["baseline_copy_cores"] = round(
                    _baseline_copy(server.url(), seconds, work / f"{name}-baseline"), 3
                )
            finally:
                server.kill()
            for mode in ("copy", "encode"):
                server = RtspServer(video)
                try:
                    row[mode] = _station(server.url(), mode, seconds, work / f"{name}-{mode}", size)
                finally:
                    server.kill()
            row["load_after"] = os.getloadavg()[0]
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
    return results
