"""IP-camera recording for ``python -m bench record --rtsp SIZES``: a real RTSP server
(tests/rtsp_server.py, GStreamer) streams the demo scene as an H.264 camera would (30 fps,
2 s GOP, constant bit rate: 1080p 4 Mb/s, 720p 2 Mb/s, with light sensor-like noise so the
encoder spends them): a main stream at the size asked and a 640x360 sub-stream (512 kb/s)
of the same picture; the station records it.

Per size, all in the same run (one after the other, or ``--together``: at once, each
process on its own connection, so one 10-minute window measures them all):

- baseline: ``ffmpeg -c copy`` of the main stream into the station's HLS fMP4 segments
  alone (what recording one camera costs, with nothing decoded);
- ``copy``: ``packseal record`` with ``station.camera.mode: copy``, scanning the main
  stream (recording + ffmpeg's decode at scan rate + Python's scanner);
- ``copy-sub``: the same, scanning the sub-stream (``station.camera.scan_url``): the main
  stream only copied, the sub-stream decoded;
- ``encode``: the main stream decoded, overlaid and re-encoded by the station.

``--cameras N[,M...]`` (bench :func:`capacity`): N cameras at once, each its own main and
sub-stream on the server, each recorded by its own ``packseal record`` in copy mode
scanning its sub-stream (started in turn: each after the previous one sealed its first
blob, or 20 s); per camera: frames dropped (the camera's timestamps), cores (start-up included).

The server is the cameras: it runs at ``nice 19`` (it yields the CPU to the stations), its
CPU is read from /proc and reported apart, never added to the stations' cores. The footage
is 60 s of the demo scene looped (``-stream_loop``, continuous timestamps), so orders repeat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SUB = (640, 360)
PIECE_S = 60  # rendered and encoded once; looped to the run's length
MODES = ("copy", "copy-sub", "encode")
# constant bit rates as cameras ship them (e.g. Hikvision's defaults): main 1080p 4 Mb/s,
# 720p 2 Mb/s; sub-stream 640x360 512 kb/s
_RATE = {
    height: ["-b:v", rate, "-maxrate", rate, "-bufsize", rate]
    for height, rate in ((1080, "4M"), (720, "2M"), (360, "512k"))
}


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _video(path: Path, width: int, height: int, seconds: float) -> None:
    from recorder.demo import DemoScene

    scene = DemoScene(width, height, 30, seed=7)
    cmd = [_ffmpeg(), "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", "30"]
    cmd += ["-i", "pipe:", "-vf", "noise=alls=4:allf=t"]  # sensor noise: bits to spend
    cmd += ["-c:v", "libx264", "-preset", "veryfast", *_RATE[height]]
    cmd += ["-g", "60", "-bf", "0", "-pix_fmt", "yuv420p", str(path)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE) as p:
        assert p.stdin is not None
        for n in range(round(seconds * 30)):
            p.stdin.write(scene.render(n).tobytes())
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("ffmpeg could not write the bench video")


def _footage(work: Path, name: str, size: tuple[int, int], seconds: float) -> tuple[Path, Path]:
    """The main stream's and the sub-stream's files, ``seconds`` + 60 s long. The 60 s
    pieces are kept in bench/out/rtsp-footage (rendering 1080p takes minutes when loaded)."""
    cache = ROOT / "bench" / "out" / "rtsp-footage-cbr"
    cache.mkdir(parents=True, exist_ok=True)
    piece, sub_piece = cache / f"{name}-piece.mp4", cache / f"{name}-sub-piece.mp4"
    if not (piece.exists() and sub_piece.exists()):
        _pieces(piece, sub_piece, size)
    loops = int((seconds + PIECE_S) // PIECE_S)
    out = []
    for src in (piece, sub_piece):
        dst = work / src.name.replace("-piece", "")
        subprocess.run(
            [_ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-stream_loop", str(loops),
             "-i", str(src), "-c", "copy", str(dst)],
            check=True,
        )  # fmt: skip
        out.append(dst)
    return out[0], out[1]


def _pieces(piece: Path, sub_piece: Path, size: tuple[int, int]) -> None:
    tmp = piece.with_suffix(".tmp.mp4")
    _video(tmp, *size, PIECE_S)
    subprocess.run(
        [_ffmpeg(), "-nostdin", "-loglevel", "error", "-y", "-i", str(tmp),
         "-vf", f"scale={SUB[0]}:{SUB[1]}", "-c:v", "libx264", "-preset", "veryfast",
         *_RATE[SUB[1]], "-g", "60", "-bf", "0", str(sub_piece)],
        check=True,
    )  # fmt: skip
    os.replace(tmp, piece)


class _Server:
    """tests/rtsp_server.py at nice 19 with the given mounts; its own CPU read from /proc."""

    def __init__(self, mounts: dict[str, Path]) -> None:
        first, *rest = mounts.items()
        assert first[0] == "/cam"
        cmd = ["nice", "-n", "19", "/usr/bin/python3", str(ROOT / "tests" / "rtsp_server.py")]
        cmd += ["--file", str(first[1])]
        for path, file in rest:
            cmd += ["--mount", f"{path}={file}"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self._cpu0, self._wall0 = self.cpu(), time.monotonic()

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}{path}"

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cores(self) -> float:
        return round((self.cpu() - self._cpu0) / (time.monotonic() - self._wall0), 3)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class _Proc:
    """A child process whose own CPU (and its waited children's) is read when it ends."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        self.wall0 = time.monotonic()
        self.process = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def running(self) -> bool:
        """Whether it still runs, without reaping it (its rusage is read by :meth:`wait`)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.process.pid, flags) is None

    def wait(self) -> tuple[float, float]:
        """(cores, wall seconds)."""
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - self.wall0
        if self.process.returncode != 0:
            err = self.process.stderr.read().decode() if self.process.stderr else ""
            raise RuntimeError(f"{self.process.args!r} failed: {err[-2000:]}")
        return (usage.ru_utime + usage.ru_stime) / wall, wall


def _baseline_copy(url: str, seconds: float, out: Path) -> _Proc:
    out.mkdir()
    cmd = [_ffmpeg(), "-nostdin", "-loglevel", "error"]
    cmd += ["-rtsp_transport", "tcp", "-i", url, "-t", str(seconds), "-c:v", "copy"]
    cmd += ["-f", "hls", "-hls_time", "2", "-hls_list_size", "0", "-hls_segment_type", "fmp4"]
    cmd += ["-hls_segment_filename", str(out / "seg_%06d.m4s"), str(out / "index.m3u8")]
    return _Proc(cmd)


class _Station:
    """``packseal record`` on one camera in ``mode`` (copy-sub: copy, scanning ``sub``)."""

    def __init__(
        self, work: Path, mode: str, main: str, sub: str, size: tuple[int, int], seconds: float
    ) -> None:
        work.mkdir()
        self.mode, self.work = mode, work
        camera: dict[str, Any] = {"device": main, "width": size[0], "height": size[1], "fps": 30}
        camera["mode"] = "encode" if mode == "encode" else "copy"
        if mode == "copy-sub":
            camera["scan_url"] = sub
        config = work / "config.yaml"
        config.write_text(
            yaml.safe_dump({"data_dir": str(work / "data"), "station": {"camera": camera}})
        )
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.cmd = [sys.executable, "-m", "packseal", "--config", str(config)]
        subprocess.run([*self.cmd, "init"], check=True, env=self.env, capture_output=True)
        self.stats = work / "stats.json"
        self.proc = _Proc(
            [*self.cmd, "record", "--source", "camera", "--for", str(seconds),
             "--stats-json", str(self.stats)],
            env=self.env,
        )  # fmt: skip

    def wait_recording(self, timeout: float = 20.0) -> None:
        """Until its first sealed blob (the init section) or it ended or ``timeout``: the
        next camera's station starts after this one's start-up burst (imports, the
        camera's probe), as a PC starting its stations in turn would."""
        blobs = self.work / "data" / "blobs"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.running():
            if blobs.exists() and any(p.is_file() for p in blobs.rglob("*")):
                return
            time.sleep(0.5)

    def result(self) -> dict[str, object]:
        cores, wall = self.proc.wait()
        s = json.loads(self.stats.read_text())
        clips = subprocess.run(
            [*self.cmd, "clips", "--json", "--limit", "1000"], check=True, env=self.env,
            capture_output=True, text=True,
        ).stdout  # fmt: skip
        return {
            "mode": self.mode,
            "wall_s": round(wall, 1),
            "footage_s": s["footage_seconds"],
            "frames_dropped": s["frames_dropped"],
            "scan_frames": s["scan_frames"],
            "cores": round(cores, 3),
            "cores_ffmpeg": round(float(s["cpu_seconds_ffmpeg"]) / wall, 3),
            "clips_sealed": len(json.loads(clips)),
            "scan_decode_ms_median": s["scan_decode_ms_median"],
        }


def _stop(stations: list[_Station]) -> None:
    """No station outlives the benchmark (an error above must not leave them recording)."""
    for station in stations:
        if station.proc.process.returncode is None and station.proc.running():
            station.proc.process.terminate()
            station.proc.process.wait(60)


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def run(
    sizes: list[tuple[str, tuple[int, int]]],
    seconds: float,
    modes: tuple[str, ...] = MODES,
    *,
    together: bool = False,
) -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT))
    results = []
    with tempfile.TemporaryDirectory(prefix="packseal-bench-rtsp-") as tmp:
        work = Path(tmp)
        for name, size in sizes:
            main, sub = _footage(work, name, size, seconds)
            row: dict[str, object] = {"size": name, "together": together, "load": _load()}
            server = _Server({"/cam": main, "/sub": sub})
            stations: list[_Station] = []
            try:
                main_url, sub_url = server.url("/cam"), server.url("/sub")
                baseline = _baseline_copy(main_url, seconds, work / f"{name}-baseline")
                if not together:
                    row["baseline_copy_cores"] = round(baseline.wait()[0], 3)
                for mode in modes:
                    station = _Station(
                        work / f"{name}-{mode}", mode, main_url, sub_url, size, seconds
                    )
                    if together:
                        stations.append(station)
                    else:
                        row[mode] = station.result()
                for station in stations:
                    row[station.mode] = station.result()
                if together:
                    row["baseline_copy_cores"] = round(baseline.wait()[0], 3)
                row["server_cores"] = server.cores()
            finally:
                _stop(stations)
                server.kill()
            row["load_after"] = _load()
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
    return results


def capacity(
    counts: list[int], size_name: str, size: tuple[int, int], seconds: float
) -> list[dict[str, object]]:
    """N cameras at once (each its own main and sub-stream), N copy-mode stations scanning
    their sub-streams: drops per camera and cores, for each N in ``counts``."""
    sys.path.insert(0, str(ROOT))
    results = []
    with tempfile.TemporaryDirectory(prefix="packseal-bench-cams-") as tmp:
        work = Path(tmp)
        main, sub = _footage(work, size_name, size, seconds)
        for n in counts:
            mounts = {"/cam": main}
            for i in range(n):
                mounts[f"/cam{i}"], mounts[f"/sub{i}"] = main, sub
            row: dict[str, object] = {"cameras": n, "size": size_name, "load": _load()}
            server = _Server(mounts)
            stations: list[_Station] = []
            try:
                for i in range(n):
                    main_url, sub_url = server.url(f"/cam{i}"), server.url(f"/sub{i}")
                    stations.append(
                        _Station(work / f"n{n}-{i}", "copy-sub", main_url, sub_url, size, seconds)
                    )
                    stations[-1].wait_recording()
                got, failed = [], []
                for station in stations:
                    try:
                        got.append(station.result())
                    except RuntimeError as e:  # a station that could not record: say why
                        failed.append(str(e)[-300:])
                row["server_cores"] = server.cores()
            finally:
                _stop(stations)
                server.kill()
            row["stations_failed"] = failed
            row["dropped_per_camera"] = [r["frames_dropped"] for r in got]
            row["cores_total"] = round(sum(float(r["cores"]) for r in got), 3)  # type: ignore[arg-type]
            row["cores_per_camera"] = round(float(row["cores_total"]) / max(1, len(got)), 3)  # type: ignore[arg-type]
            row["cores_ffmpeg_total"] = round(sum(float(r["cores_ffmpeg"]) for r in got), 3)  # type: ignore[arg-type]
            row["footage_s"] = [r["footage_s"] for r in got]
            row["clips_sealed"] = [r["clips_sealed"] for r in got]
            row["scan_ms_median"] = [r["scan_decode_ms_median"] for r in got]
            row["load_after"] = _load()
            results.append(row)
            print(json.dumps(row, indent=2), flush=True)
    return results
