"""Verify page: a 60-minute clip's bundle verified in headless Chromium vs `packseal verify`.

    python -m bench verify_page [--minutes 60] [--repeat 3] [--keep DIR]

Records the footage as ``bench verify`` does (demo source through the real station and
ffmpeg, ~390 MB per hour), exports the long clip's bundle, then in the same run times
:func:`verifier.verify.verify_bundle` on it (the CLI's work, best of ``--repeat``) and the
verify page, opened from its file in the system Chromium, on the same bundle (the page's
own clock from file picked to report, best of ``--repeat``; the picked file is read by
Chromium from disk). The goal is the page within 3x of the CLI.

Memory: the resident memory of every Chromium process of the run (browser, renderer,
GPU and utility processes, summed: shared pages count more than once, so this over-
states), sampled every 50 ms while the page verifies, peak minus the idle page's. The
goal is well under the clip's size: the page hashes slices and never holds the video.
With ``--keep DIR`` an earlier recording in DIR is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return out


def _chromium_rss_mb(by_process: dict[str, float] | None = None) -> float:
    total = 0
    for pid in _descendants(os.getpid()):
        try:
            if "chrom" not in Path(f"/proc/{pid}/comm").read_text():
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1])
                    total += kb
                    if by_process is not None:
                        kind = _kind(pid)
                        by_process[kind] = max(by_process.get(kind, 0.0), kb / 1024)
        except OSError:
            continue
    return total / 1024


def _kind(pid: int) -> str:
    try:
        # Chromium rewrites its argv into one space-separated string (setproctitle).
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "?"
    kind = next((a for a in cmd if a.startswith(b"--type=")), b"--type=browser")
    return kind.decode()[7:]


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.by_process: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _chromium_rss_mb(self.by_process))
            time.sleep(0.05)


def _page_verify(page: object, page_url: str, bundle: Path, trust: bytes) -> dict[str, object]:
    p = page  # a playwright Page (typed loosely: playwright is a dev dependency)
    p.goto(page_url)  # type: ignore[attr-defined]
    while not p.evaluate("() => window.packsealVerify.state === 'ready'"):  # type: ignore[attr-defined]
        time.sleep(0.02)
    p.fill("#trust-text", trust.decode())  # type: ignore[attr-defined]
    p.click("#trust-paste")  # type: ignore[attr-defined]
    p.set_input_files("#bundle-input", str(bundle))  # type: ignore[attr-defined]
    while True:
        done = p.evaluate(  # type: ignore[attr-defined]
            "() => window.packsealVerify.state === 'done' ? "
            "{r: window.packsealVerify.report, e: window.packsealVerify.error} : null"
        )
        if done is not None:
            break
        time.sleep(0.05)
    if done["e"] is not None:
        raise RuntimeError(f"the page failed: {done['e']}")
    report = done["r"]
    return {
        "seconds": report["seconds"],
        "verified": report["verified"],
        "ms": report["timings"],
        "whole_sha256": report.get("whole_hasher"),
    }


def _time_page(
    page_path: Path,
    bundle: Path,
    trust_bytes: bytes,
    repeat: int,
    cli: float,
    size_mb: float,
    load0: tuple[float, float, float],
) -> None:
    from playwright.sync_api import sync_playwright

    url = page_path.resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(url)
        time.sleep(0.5)
        idle_by: dict[str, float] = {}
        idle = _chromium_rss_mb(idle_by)
        sampler = _Sampler()
        sampler.start()
        runs = [_page_verify(page, url, bundle, trust_bytes) for _ in range(repeat)]
        sampler.stop.set()
        sampler.join()
        browser.close()
    assert all(r["verified"] for r in runs), runs
    best = min(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
    load = os.getloadavg()
    print(f"  page {page_path} (whole-video SHA-256 in {runs[0]['whole_sha256']})")
    print(f"  verify page, headless Chromium   {best:6.2f} s  {size_mb / best:6.0f} MB/s")
    print(f"  page / CLI                       {best / cli:6.2f}x (goal: <= 3x)")
    print(
        f"  Chromium memory: idle page {idle:.0f} MB, peak while verifying "
        f"{sampler.peak:.0f} MB (+{sampler.peak - idle:.0f} MB; the bundle is "
        f"{size_mb:.0f} MB)"
    )
    print(
        "  per process kind, peak (idle): "
        + ", ".join(
            f"{k} {v:.0f} ({idle_by.get(k, 0):.0f}) MB"
            for k, v in sorted(sampler.by_process.items())
        )
    )
    print(
        f"  load average before the CLI {load0[0]:.2f}, after the page "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        json.dumps(
            {
                "page": str(page_path),
                "whole_sha256": runs[0]["whole_sha256"],
                "size_mb": round(size_mb, 1),
                "cli_s": round(cli, 3),
                "page_s": [round(float(r["seconds"]), 3) for r in runs],  # type: ignore[arg-type]
                "ratio": round(best / cli, 2),
                "page_phases_ms": [r["ms"] for r in runs],
                "chromium_idle_mb": round(idle),
                "chromium_peak_mb": round(sampler.peak),
            }
        )
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench verify_page", description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long clip")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the store and bundle here")
    parser.add_argument(
        "--page",
        type=Path,
        action="append",
        help="a verify.html to time instead of the packaged one (repeat to compare builds "
        "in one run, e.g. `git show OLD:packseal/web/verify.html`)",
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM} (Debian package `chromium`)", file=sys.stderr)
        return 2

    from bench.verify import _record
    from packseal.web.verify_page import PAGE
    from storage import ClipQuery, TrustFile
    from verifier.verify import verify_bundle

    work = args.keep or Path(tempfile.mkdtemp(prefix="packseal-bench-verify-page-"))
    work.mkdir(parents=True, exist_ok=True)
    bundle, trust_path = work / "long.zip", work / "trust.json"
    try:
        if not (bundle.exists() and trust_path.exists()):
            t0 = time.perf_counter()
            app = _record(work / "data", args.minutes)
            rows = sorted(app.store.clips(ClipQuery(limit=10)), key=lambda r: r.start_ms)  # type: ignore[attr-defined]
            app.export(rows[-1].clip_id, bundle)  # type: ignore[attr-defined]
            trust_path.write_bytes(app.trust_file().to_bytes())  # type: ignore[attr-defined]
            app.close()  # type: ignore[attr-defined]
            print(f"recorded and exported in {time.perf_counter() - t0:.1f} s")
        trust_bytes = trust_path.read_bytes()
        trust = TrustFile.from_bytes(trust_bytes)
        size_mb = bundle.stat().st_size / 1e6
        print(f"bundle: {size_mb:.0f} MB ({bundle})")

        cli_times = []
        verify_bundle(bundle, trust)  # warm the page cache for both alike
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            verify_bundle(bundle, trust)
            cli_times.append(time.perf_counter() - t0)
        cli = min(cli_times)

        load0 = os.getloadavg()
        print(f"  packseal verify (verify_bundle)  {cli:6.2f} s  {size_mb / cli:6.0f} MB/s")
        for page_path in args.page or [PAGE]:
            _time_page(page_path, bundle, trust_bytes, args.repeat, cli, size_mb, load0)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
