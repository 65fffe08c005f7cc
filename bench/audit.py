"""Whole-store audit at 10^6 entries: seconds and memory, with and without hashing blobs.

The store is shaped like a station's (bench/_stores.py ``build_audit_store``): 2 s
segments with small real blob files (4 KiB each by default: a real segment is 25-500 KB,
and 10^6 of those would be 25-500 GB), a signed clip of 25 segments every 25 segments
with a signed checkpoint after each, a certified station key, a logged gap every 5000
segments. About 96% segments, 4% clips, 4% as many checkpoints as entries.

Each run is a fresh process (from 10^5 entries the audit checks the log's integrity in
a second process of its own while it checks the content: its CPU and peak memory are
reported too), measured three ways: the log alone (``Log.verify``), the
audit without reading blobs (every blob must exist with its logged size: a ``stat``
each), and the full audit (every blob hashed). Reported: wall and CPU seconds (CPU
counts the hashing threads), entries per second, and the peak resident memory the run
added (bench/_rss.py) at 2.5x10^5 and 10^6 entries, which must not
grow with the store. The blobs were just written, so they are in the page cache: the
hashing figure is CPU, not disk. Goal (issue 4): 10^6 entries in <= 60 s, flat memory.
Stores are built once into bench/out/ and reused (``--rebuild`` makes them again);
figures are printed and written to bench/out/audit.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _rss
from bench._stores import OUT, SHAPE, build_audit_store, signers
from storage import Store
from verifier.audit import audit_store

MODES = ("verify", "audit --no-hash", "audit")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=250_000)
    parser.add_argument("--blob-bytes", type=int, default=4096)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--modes", default=",".join(MODES), help=f"some of {MODES}")
    parser.add_argument("--child", nargs=2, metavar=("DB", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(Path(args.child[0]), args.child[1])
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "blob_bytes": args.blob_bytes,
        "load_before": os.getloadavg()[0],
        "runs": {},
    }
    for n in sorted({args.small, args.entries}):
        path = OUT / f"audit-{n}-v{SHAPE}.db"
        print(f"building (or reusing) a {n:,}-entry station store in {OUT} …", flush=True)
        built = build_audit_store(path, n, blob_bytes=args.blob_bytes, rebuild=args.rebuild)
        if built.seconds:
            print(f"  built in {built.seconds:.0f} s")
        for mode in args.modes.split(","):
            run = _in_child(path, mode)
            results["runs"][f"{n} {mode}"] = run
            _print(n, mode, run)
    results["load_after"] = os.getloadavg()[0]
    (OUT / "audit.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {OUT / 'audit.json'}")
    return 0


def _in_child(path: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "audit", "--child", str(path), mode],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child(path: Path, mode: str) -> int:
    station, root = signers()
    store = Store.open(f"sqlite:///{path}", path.with_suffix(".blobs"), station.name)
    rss, _ = _rss.start()
    wall, cpu = time.perf_counter(), time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out: dict[str, Any] = {}
    if mode == "verify":
        out["entries"] = store.verify_log([station.verifier]).size
        out["ok"] = True
    else:
        report = audit_store(
            store, [station.verifier], root=root.verifier, hash_blobs=mode == "audit"
        )
        out.update(
            entries=report.size,
            ok=report.ok,
            stats=report.stats.to_dict(),
            counts={f"{c}/{s}": k for (c, s), k in report.counts.items()},
        )
    out["wall_s"] = time.perf_counter() - wall
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The log half runs in a second process on large stores: count its CPU and memory too.
    out["child_cpu_s"] = done.ru_utime + done.ru_stime - kids.ru_utime - kids.ru_stime
    out["cpu_s"] = time.process_time() - cpu + out["child_cpu_s"]
    out["child_peak_rss_mb"] = done.ru_maxrss / 1024
    out["rss_before_mb"] = rss
    out["rss_added_mb"] = _rss.peak_mb() - rss
    store.close()
    print(json.dumps(out))
    return 0


def _print(n: int, mode: str, r: dict[str, Any]) -> None:
    extra = ""
    if "stats" in r:
        s = r["stats"]
        extra = f"   {s['blobs_checked']:,} blobs, {s['bytes_hashed'] / 1e9:.2f} GB hashed"
    child = f" (log process peak {r['child_peak_rss_mb']:.0f} MB)" if r["child_cpu_s"] else ""
    print(
        f"  {n:>9,} entries  {mode:16} {r['wall_s']:6.1f} s wall  {r['cpu_s']:6.1f} s CPU  "
        f"{n / r['wall_s']:>7,.0f}/s  memory +{r['rss_added_mb']:5.1f} MB{child}  "
        f"{'clean' if r['ok'] else 'FINDINGS'}{extra}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
