"""The system Chromium for the browser tests (Playwright), launched one way everywhere.

Screenshots go to test-artifacts/ (gitignored): look at them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # this machine's network is closed: background fetches would be refused, many at a time
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # the station's sounds: a kiosk browser is started like this too
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Pages that never finished and were run again (record_stall); tests/conftest.py prints
# them after the run, so a stall that a second try hid is still seen.
STALLS = ARTIFACTS / "page-stalls.jsonl"


@contextmanager
def launch(artifacts: Path) -> Iterator[Browser]:
    """One Chromium for a test module's fixture; skips where there is none."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def record_stall(page: Page, what: str, why: str) -> None:
    """Keep a page that never finished: the test, what it was given, where the page stopped
    (``why``) and a screenshot."""
    STALLS.parent.mkdir(parents=True, exist_ok=True)
    shot: Path | None = STALLS.parent / f"stall-{time.time_ns()}.png"
    try:
        page.screenshot(path=shot, full_page=True)
    except Error:
        shot = None
    line = {"test": os.environ.get("PYTEST_CURRENT_TEST"), "what": what, "why": why}
    with open(STALLS, "a", encoding="utf-8") as f:
        f.write(json.dumps(line | {"screenshot": str(shot)}, ensure_ascii=False) + "\n")
