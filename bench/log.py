"""The evidence log: durable appends/s, proofs and whole-log verify at 10^6 entries, memory.

Measures, on SQLite (and PostgreSQL when one is reachable):

- durable appends per second, one entry per transaction (a commit, so an fsync, each)
  and batched (1000 entries per transaction);
- inclusion and consistency proof generation at 10^6 entries: p50/p95/max over 1000
  random proofs each (against the current size);
- whole-log ``Log.verify`` at 2.5x10^5 and 10^6 entries: wall and CPU seconds, and the
  peak resident memory it added (each run in a fresh process; bench/_rss.py), which
  must not grow with the log.

Goals (issue 2, this 2-core machine): >= 3,000 batched appends/s, a proof <= 1 ms at
10^6 entries, verify of 10^6 <= 60 s with flat memory. The 10^6-entry store is built
once into bench/out/ (segments and a gap every 1000, batches of 1000) and reused;
``--rebuild`` makes it again. Figures are printed and written to bench/out/log.json.
Other processes on the machine slow wall times; CPU seconds are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import _rss
from bench._stores import ORIGIN, OUT, SHAPE, build_log_store, signers
from storage import Store
from storage.entries import Segment

# The same server the tests use (tests/conftest.py): Debian's postgresql on its socket.
DEFAULT_PG_URL = "postgresql+psycopg://root@/packseal_test?host=/var/run/postgresql"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench log", description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=250_000, help="the smaller verify run")
    parser.add_argument("--single", type=int, default=300, help="one-entry transactions")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1000")
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("PACKSEAL_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child-verify", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_verify:
        return _child_verify(args.child_verify)

    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        results["sqlite_appends"] = _appends(
            f"sqlite:///{tmp}/appends.db", Path(tmp) / "blobs", args.single, args.batches
        )
    _print_appends("SQLite (WAL, synchronous=FULL)", results["sqlite_appends"])
    results["postgres_appends"] = None if args.no_pg else _pg_appends(args)

    stores = {}
    for n in sorted({args.small, args.entries}):
        print(f"\nbuilding (or reusing) a {n:,}-entry log in {OUT} …", flush=True)
        built = build_log_store(OUT / f"log-{n}-v{SHAPE}.db", n, rebuild=args.rebuild)
        if built.seconds:
            print(f"  built in {built.seconds:.1f} s: {n / built.seconds:,.0f} batched appends/s")
            results[f"build_{n}_appends_per_s"] = n / built.seconds
        stores[n] = built
    results["proofs"] = _proofs(stores[args.entries].open(), args.proofs)
    verify: dict[str, Any] = {}
    for n, built in sorted(stores.items()):
        verify[str(n)] = _verify_in_child(built.url)
    results["verify"] = verify
    _print_rest(results)
    results["load_after"] = os.getloadavg()[0]
    (OUT / "log.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {OUT / 'log.json'}")
    return 0


# -- appends ---------------------------------------------------------------------------------


def _entries(n: int, start_seq: int) -> list[Segment]:
    sha = "ab" * 32
    return [
        Segment(1, seq, "run", seq, sha, sha, seq * 2000, seq * 2000 + 2000, 60, 0, 9)
        for seq in range(start_seq, start_seq + n)
    ]


def _appends(url: str, blob_dir: Path, single: int, batches: int) -> dict[str, float]:
    store = Store.open(url, blob_dir, ORIGIN, create=True)
    try:
        store._log.append(_entries(1, 0))  # schema and first page warm
        t = time.perf_counter()
        for e in _entries(single, 1):
            store._log.append([e])
        one = single / (time.perf_counter() - t)
        t = time.perf_counter()
        for b in range(batches):
            store._log.append(_entries(1000, 1 + single + b * 1000))
        batched = batches * 1000 / (time.perf_counter() - t)
        # What a station does per segment: the index rows too (Store.append).
        t = time.perf_counter()
        for b in range(batches):
            store.append(_entries(1000, 1 + single + (batches + b) * 1000))
        indexed = batches * 1000 / (time.perf_counter() - t)
    finally:
        store.close()
    return {"single_per_s": one, "batched_per_s": batched, "batched_indexed_per_s": indexed}


def _pg_appends(args: argparse.Namespace) -> dict[str, Any]:
    base = args.pg
    try:
        admin = create_engine(base)
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:
        print(f"\nPostgreSQL: not reachable at {base} ({type(e).__name__}); not measured")
        return {"reachable": False, "url": base, "error": type(e).__name__}
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            out = _appends(
                f"{base}{sep}options=-csearch_path%3D{schema}",
                Path(tmp) / "blobs",
                args.single,
                args.batches,
            )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    _print_appends("PostgreSQL (local socket, synchronous_commit on)", out)
    return {"reachable": True, **out}


def _print_appends(label: str, r: dict[str, float]) -> None:
    print(f"\ndurable appends, {label}:")
    print(f"  one entry per transaction   {r['single_per_s']:>9,.0f} entries/s")
    print(f"  batches of 1000             {r['batched_per_s']:>9,.0f} entries/s   (goal >= 3,000)")
    print(f"  batches of 1000, indexed    {r['batched_indexed_per_s']:>9,.0f} entries/s")


# -- proofs ----------------------------------------------------------------------------------


def _proofs(store: Store, count: int) -> dict[str, Any]:
    rng = random.Random(1)
    try:
        size = store.size()
        for _ in range(20):  # warm the statement cache and the pages near the root
            store.inclusion_proof(rng.randrange(size))
        out: dict[str, Any] = {"size": size}
        for kind in ("inclusion", "consistency"):
            ms = []
            for _ in range(count):
                t = time.perf_counter()
                if kind == "inclusion":
                    store.inclusion_proof(rng.randrange(size))
                else:
                    store.consistency_proof(rng.randrange(1, size))
                ms.append((time.perf_counter() - t) * 1000)
            ms.sort()
            out[kind] = {
                "p50_ms": statistics.median(ms),
                "p95_ms": ms[int(len(ms) * 0.95)],
                "max_ms": ms[-1],
            }
    finally:
        store.close()
    return out


# -- verify, each in a fresh process ---------------------------------------------------------


def _verify_in_child(url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "log", "--child-verify", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child_verify(url: str) -> int:
    station, _ = signers()
    store = Store.open(url, OUT / "unused-blobs", ORIGIN)
    rss_before, _ = _rss.start()
    wall, cpu = time.perf_counter(), time.process_time()
    report = store.verify_log([station.verifier])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _rss.peak_mb()
    store.close()
    print(
        json.dumps(
            {
                "entries": report.size,
                "checkpoints": report.checkpoints,
                "wall_s": wall,
                "cpu_s": cpu,
                "rss_before_mb": rss_before,
                "rss_added_mb": peak - rss_before,
            }
        )
    )
    return 0


def _print_rest(r: dict[str, Any]) -> None:
    p = r["proofs"]
    print(f"\nproofs at {p['size']:,} entries (1000 random each, goal <= 1 ms):")
    for kind in ("inclusion", "consistency"):
        q = p[kind]
        print(
            f"  {kind:12} p50 {q['p50_ms']:.3f} ms   p95 {q['p95_ms']:.3f} ms   "
            f"max {q['max_ms']:.3f} ms"
        )
    print("\nwhole-log verify (a fresh process each; goal 10^6 <= 60 s, flat memory):")
    for n, v in r["verify"].items():
        print(
            f"  {int(n):>9,} entries   {v['wall_s']:6.1f} s wall   {v['cpu_s']:6.1f} s CPU   "
            f"{int(n) / v['wall_s']:>8,.0f} entries/s   memory +{v['rss_added_mb']:.1f} MB "
            f"(process {v['rss_before_mb']:.0f} MB before)"
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
