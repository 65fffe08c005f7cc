"""CLI start-up: wall time of `packseal` commands that only print their help, against Python.

    python -m bench cli [--repeat 7]

Each command runs ``--repeat`` times as a fresh process (the ``packseal`` script beside
this interpreter), from an empty directory; best and median are printed, and the best
as a ratio to the baseline measured in the same run: ``python -c pass``. Two imports show
where the time goes: ``storage`` (SQLAlchemy), and ``packseal.cli`` (all a command needs
before its own module).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKSEAL = str(Path(sys.executable).with_name("packseal"))
RUNS: list[tuple[str, list[str]]] = [
    ("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
    ("import storage", [sys.executable, "-c", "import storage"]),
    ("import packseal.cli", [sys.executable, "-c", "import packseal.cli"]),
    ("packseal --version", [PACKSEAL, "--version"]),
    ("packseal --help", [PACKSEAL, "--help"]),
    ("packseal verify --help", [PACKSEAL, "verify", "--help"]),
    ("packseal clips --help", [PACKSEAL, "clips", "--help"]),
    ("packseal claim --help", [PACKSEAL, "claim", "--help"]),
]


def _times(cmd: list[str], repeat: int, cwd: str) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench cli", description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="packseal-bench-cli-") as cwd:
        results = [(name, _times(cmd, args.repeat, cwd)) for name, cmd in RUNS]
    base = min(results[0][1])
    print(f"CLI start-up, best and median of {args.repeat} fresh processes:")
    for name, times in results:
        best = min(times)
        print(
            f"  {name:28} {best:6.2f} s  (median {statistics.median(times):5.2f} s)  "
            f"{best / base:5.1f}x the baseline"
        )
    return 0
