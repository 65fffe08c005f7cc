"""One writer per store, with real processes: a second station is refused at once and
names the first; read-only commands work beside it; a SIGKILLed station leaves no lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from packseal.app import App
from packseal.config import load_config
from storage import ClipQuery

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path) -> Path:
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "merchant": {"name": "Lock Shop", "id": "lock"},
        "station": {"camera": {"width": 320, "height": 180, "fps": 10}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _argv(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "packseal", "--config", str(config), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _start(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            _argv(config, *args), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=_env()
        )


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _argv(config, *args), cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=120
    )


def _wait_for_a_sealed_segment(app: App, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while app.store.last_segment() is None:
        assert proc.poll() is None, "the first station stopped on its own"
        assert time.monotonic() < deadline, "the first station sealed nothing in 90 s"
        time.sleep(0.1)


def test_a_second_station_is_refused_and_the_first_keeps_recording(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _run(config, "init").returncode == 0
    app = App(load_config(config))
    first = _start(config, tmp_path / "first.log", "record", "--source", "demo", "--for", "600")
    try:
        _wait_for_a_sealed_segment(app, first)
        for command in ("record", "station"):
            began = time.monotonic()
            second = _run(config, command, "--source", "demo", "--fast", "--for", "5")
            took = time.monotonic() - began
            assert second.returncode == 2, second.stderr
            assert f"`packseal record` (pid {first.pid}, since " in second.stderr
            assert "error: the store in" in second.stderr
            assert "hint: one station records into a store at a time" in second.stderr
            # refused before any camera, encoder or store work: interpreter start only
            assert took < 30, took
        # read-only commands beside the running station
        listed = _run(config, "clips", "--json")
        assert listed.returncode == 0, listed.stderr
        json.loads(listed.stdout)
        assert _run(config, "log", "verify").returncode == 0
        assert first.poll() is None, "the first station died beside the second"
    finally:
        first.send_signal(signal.SIGINT)
        rc = first.wait(timeout=120)
    log = (tmp_path / "first.log").read_text()
    assert rc == 0, log
    assert "IntegrityError" not in log
    assert "Traceback" not in log
    clips = app.store.clips(ClipQuery(limit=100))
    assert not [c for c in clips if c.end_reason == "crash"], clips
    app.close()


def test_a_killed_station_leaves_no_stale_lock(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _run(config, "init").returncode == 0
    app = App(load_config(config))
    first = _start(config, tmp_path / "first.log", "record", "--source", "demo", "--for", "600")
    try:
        _wait_for_a_sealed_segment(app, first)
    finally:
        first.kill()
        first.wait()
    again = _run(config, "record", "--source", "demo", "--fast", "--for", "3")
    assert again.returncode == 0, again.stderr
    assert "stopped:" in again.stdout
    app.close()


def test_keys_rotate_is_refused_while_a_station_records(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _run(config, "init").returncode == 0
    app = App(load_config(config))
    first = _start(config, tmp_path / "first.log", "record", "--source", "demo", "--for", "600")
    try:
        _wait_for_a_sealed_segment(app, first)
        rotate = _run(config, "keys", "rotate")
        assert rotate.returncode == 2, rotate.stderr
        assert f"(pid {first.pid}, since " in rotate.stderr
    finally:
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=120) == 0
    app.close()
