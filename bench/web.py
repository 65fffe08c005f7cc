"""Web: range-request throughput of 50 concurrent players, and clip search over 100,000 clips.

    python -m bench web [--clients 50] [--seconds 10] [--max-requests 20000]
                        [--clips 100000] [--searches 100] [--fresh]

A real portal (``packseal serve`` in its own process, uvicorn, SQLite) over a store
recorded from the demo at 720p30 (``bench/out/web/``, reused between runs; ``--fresh``
rebuilds it):

1. ``--clients`` concurrent HTTP/1.1 keep-alive clients, each asking for random byte
   ranges (64 KiB - 1 MiB, like a player buffering and seeking) of random clips with an
   API token, for ``--seconds`` or ``--max-requests``, whichever ends first. Every
   response is checked (status 206, Content-Range, length, and the bytes against the
   blobs for a sample). Reports MB/s, requests/s, latency percentiles, errors (goal 0),
   and the server's resident memory before and after (a range is streamed, never
   loaded whole). Baseline in the same run: the same bytes read from the blob files by
   one thread, so the ratio says what HTTP costs.
2. ``--clips`` synthetic clip index rows (direct SQL into ``clips`` and
   ``clip_tracking``, as a busy store's index looks after ~2 years at 140 orders a day),
   then ``--searches`` sequential searches of each kind through ``/api/v1/clips`` and
   the ``/clips`` page: latency p50/p95/max (goal p95 <= 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "web"
PASSWORD = "bench password 1234"  # noqa: S105 (a throwaway bench user)


@dataclass
class ClipFile:
    clip_id: str
    order_id: str
    parts: list[Path]
    sizes: list[int]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def read(self, start: int, end: int) -> bytes:
        out = bytearray()
        offset = 0
        for path, size in zip(self.parts, self.sizes, strict=True):
            lo, hi = max(start, offset), min(end + 1, offset + size)
            if lo < hi:
                with open(path, "rb") as f:
                    f.seek(lo - offset)
                    out += f.read(hi - lo)
            offset += size
        return bytes(out)


def _cli(config: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "packseal", "--config", str(config), *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
    )
    return done.stdout


def build_store(fresh: bool) -> Path:
    """A store with real 720p clips from the demo, a merchant user, and its config."""
    config = OUT / "config.yaml"
    if fresh and OUT.exists():
        shutil.rmtree(OUT)
    if (OUT / "ready").exists():
        return config
    OUT.mkdir(parents=True, exist_ok=True)
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(OUT / "data"),
                "merchant": {"name": "Bench Shop", "id": "bench"},
                "station": {"camera": {"width": 1280, "height": 720, "fps": 30}},
                "storage": {"min_free_mb": 0},
            }
        )
    )
    print("recording 6 demo orders at 720p30 (once; reused by later runs)...", flush=True)
    _cli(config, "init")
    _cli(
        config,
        "record",
        "--source",
        "demo:3",
        "--fast",
        "--epoch",
        "2026-01-05T08:00:00Z",
        "--for",
        "150",
    )
    _cli(
        config,
        "users",
        "add",
        "bench",
        "--role",
        "merchant",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    (OUT / "ready").write_text("ok\n")
    return config


def load_clips(config: Path) -> tuple[list[ClipFile], str]:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from packseal.config import load_config
    from storage import Store
    from storage._schema import clips as clips_table

    cfg = load_config(config)
    store = Store.open(cfg.database_url, cfg.blob_dir, cfg.origin)
    try:
        with store._engine.connect() as conn:
            ids = conn.execute(
                select(clips_table.c.clip_id).where(
                    clips_table.c.clip_id.not_like("BENCH%"), clips_table.c.status == "sealed"
                )
            ).scalars()
            rows = [store.clip(i) for i in ids]
        clips = []
        for r in filter(None, rows):
            segs = store.segments(r.first_seq, r.last_seq)
            parts = [store._blobs.path(segs[0].init), *(store._blobs.path(s.sha256) for s in segs)]
            clips.append(ClipFile(r.clip_id, r.order_id, parts, [p.stat().st_size for p in parts]))
        return clips, cfg.database_url
    finally:
        store.close()


def add_synthetic_clips(database_url: str, n: int) -> list[tuple[str, str]]:
    """``n`` index rows (order id, tracking id), inserted in batches; returns samples."""
    from sqlalchemy import create_engine, func, insert, select

    from storage._schema import clip_tracking, clips

    engine = create_engine(database_url)
    rnd = random.Random(5)
    with engine.begin() as conn:
        existing = conn.execute(
            select(func.count()).select_from(clips).where(clips.c.clip_id.like("BENCH%"))
        ).scalar_one()
        template = conn.execute(select(clips).limit(1)).first()
        assert template is not None, "the store has no clip to copy"
        base = template._asdict()
        stations = [f"station-{k:02d}" for k in range(1, 9)]
        t0 = 1_735_689_600_000  # 2025-01-01
        samples = []
        for start in range(existing, n, 10_000):
            rows, tracking = [], []
            for i in range(start, min(n, start + 10_000)):
                started = t0 + i * 600_000 + rnd.randrange(600_000)  # ~one per 10 min
                clip_id = f"BENCH{i:021d}"
                order = f"SO-B-{i:07d}"
                rows.append(
                    {
                        **base,
                        "clip_id": clip_id,
                        "order_id": order,
                        "status": "sealed" if rnd.random() > 0.03 else "cancelled",
                        "station": rnd.choice(stations),
                        "started_ms": started,
                        "ended_ms": started + 40_000,
                    }
                )
                tracking.append({"clip_id": clip_id, "tracking_id": f"SF{i:012d}"})
            conn.execute(insert(clips), rows)
            conn.execute(insert(clip_tracking), tracking)
        for i in rnd.sample(range(n), 200):
            samples.append((f"SO-B-{i:07d}", f"SF{i:012d}"))
    engine.dispose()
    return samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    bytes: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None


async def _client(
    base: str,
    token: str,
    clips: list[ClipFile],
    deadline: float,
    budget: list[int],
    tally: Tally,
    seed: int,
) -> None:
    rnd = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            clip = rnd.choice(clips)
            length = rnd.randint(64 << 10, 1 << 20)
            start = rnd.randrange(0, max(1, clip.size - length))
            end = min(clip.size - 1, start + length - 1)
            t0 = time.perf_counter()
            try:
                got = await client.get(
                    f"/clips/{clip.clip_id}/video.mp4", headers={"Range": f"bytes={start}-{end}"}
                )
                body = got.content
                ok = (
                    got.status_code == 206
                    and got.headers.get("content-range") == f"bytes {start}-{end}/{clip.size}"
                    and len(body) == end - start + 1
                )
                if ok and rnd.random() < 0.05:  # a sample of bodies, byte for byte
                    ok = body == clip.read(start, end)
            except httpx.HTTPError as e:
                ok, body = False, b""
                tally.first_error = tally.first_error or repr(e)
            tally.latencies.append((time.perf_counter() - t0) * 1000)
            tally.requests += 1
            if ok:
                tally.bytes += len(body)
            else:
                tally.errors += 1
                tally.first_error = tally.first_error or f"status {got.status_code}"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))] if s else float("nan")


def bench_ranges(
    base: str, token: str, clips: list[ClipFile], args: argparse.Namespace, pid: int
) -> None:
    rss0, cpu0 = _rss_mb(pid), _cpu_s(pid)
    tally = Tally()
    budget = [args.max_requests]
    deadline = time.monotonic() + args.seconds

    async def run() -> None:
        await asyncio.gather(
            *(
                _client(base, token, clips, deadline, budget, tally, seed)
                for seed in range(args.clients)
            )
        )

    t0 = time.monotonic()
    asyncio.run(run())
    wall = time.monotonic() - t0
    rss1, cpu1 = _rss_mb(pid), _cpu_s(pid)
    # baseline: the same number of bytes read straight from the blob files, one thread
    rnd = random.Random(1)
    read, b0 = 0, time.monotonic()
    while read < tally.bytes:
        clip = rnd.choice(clips)
        length = rnd.randint(64 << 10, 1 << 20)
        start = rnd.randrange(0, max(1, clip.size - length))
        read += len(clip.read(start, min(clip.size - 1, start + length - 1)))
    base_s = max(1e-9, time.monotonic() - b0)
    mb_s = tally.bytes / wall / 1e6
    print(
        f"\nrange requests: {args.clients} concurrent clients, {wall:.1f} s, "
        f"{len(clips)} clips of {statistics.mean(c.size for c in clips) / 1e6:.1f} MB avg"
    )
    print(f"  requests      {tally.requests}  ({tally.requests / wall:.0f} req/s)")
    print(f"  throughput    {mb_s:.1f} MB/s  ({tally.bytes / 1e6:.0f} MB)")
    print(
        f"  errors        {tally.errors}"
        + (f"  first: {tally.first_error}" if tally.errors else "")
    )
    print(
        f"  latency ms    p50 {_pct(tally.latencies, 50):.1f}  p95 {_pct(tally.latencies, 95):.1f}"
        f"  max {max(tally.latencies, default=0):.1f}"
    )
    print(f"  server RSS    {rss0:.0f} MB before, {rss1:.0f} MB after")
    server_cores = (cpu1 - cpu0) / wall
    per_request = (cpu1 - cpu0) * 1000 / max(1, tally.requests)
    print(
        f"  server CPU    {server_cores:.2f} cores, {per_request:.1f} ms per request "
        f"(the Python clients run on the same machine)"
    )
    print(
        f"  baseline      file reads {read / base_s / 1e6:.0f} MB/s in one thread; "
        f"HTTP delivers {mb_s / (read / base_s / 1e6):.2f}x of it"
    )


def bench_search(
    base: str, token: str, samples: list[tuple[str, str]], searches: int, cookie_base: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    rnd = random.Random(9)
    kinds = {
        "order id (exact)": lambda: {"order": rnd.choice(samples)[0]},
        "tracking id (exact)": lambda: {"tracking": rnd.choice(samples)[1]},
        "station + month": lambda: {
            "station": f"station-{rnd.randint(1, 8):02d}",
            **(lambda m: {"since": f"2025-{m:02d}-01", "until": f"2025-{m:02d}-28"})(
                rnd.randint(1, 12)
            ),
        },
        "status cancelled": lambda: {"status": "cancelled"},
        "newest, page 1": lambda: {},
        "newest, page 200": lambda: {"page": "200"},
    }
    print(f"\nsearch: {searches} sequential searches of each kind, API and page")
    print(f"  {'kind':24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  results")
    worst = 0.0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for path in ("/api/v1/clips", "/clips"):
            for name, params in kinds.items():
                ms, found = [], 0
                for _ in range(searches):
                    p = params()
                    t0 = time.perf_counter()
                    got = client.get(path, params=p)
                    ms.append((time.perf_counter() - t0) * 1000)
                    assert got.status_code == 200, (path, p, got.status_code, got.text[:200])
                    if path.startswith("/api"):
                        found += len(got.json()["clips"])
                p95 = _pct(ms, 95)
                worst = max(worst, p95)
                label = f"{'API ' if path.startswith('/api') else 'page'} {name}"
                print(
                    f"  {label:24} {statistics.median(ms):8.1f} {p95:8.1f} {max(ms):8.1f}"
                    + (f"  {found / searches:.1f} per search" if path.startswith("/api") else "")
                )
    print(f"  worst p95     {worst:.1f} ms (goal <= 100 ms)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench web", description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--fresh", action="store_true", help="rebuild bench/out/web")
    args = parser.parse_args(argv)

    config = build_store(args.fresh)
    clips, database_url = load_clips(config)
    token = _cli(config, "users", "token", "bench", "--label", "bench").strip()
    t0 = time.monotonic()
    samples = add_synthetic_clips(database_url, args.clips)
    print(f"clip index: {args.clips:,} synthetic rows ready in {time.monotonic() - t0:.1f} s")

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "packseal", "--config", str(config), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("error: the portal did not start", file=sys.stderr)
                    return 2
                time.sleep(0.2)
        bench_ranges(base, token, clips, args, server.pid)
        bench_search(base, token, samples, args.searches, base)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
