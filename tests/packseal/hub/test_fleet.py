"""Must-show tests of issue 9, with real processes: three stations recording the demo
source to one hub (PostgreSQL + SeaweedFS), the hub killed mid-recording, SIGKILL
during pushes, and media kept until the hub holds them."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from packseal.app import App
from packseal.config import HubLinkConfig, load_config
from packseal.hub.app import Hub
from packseal.hub.exports import export_mirrored
from packseal.hub.pusher import Pusher
from recorder.clock import SystemClock
from storage import PacksealError, Store, generate_key_file, load_signer
from storage.outbox import Outbox
from tests.forked import packseal_process
from tests.packseal.hub.conftest import HUB_ENV, copy_recorded, station_app
from verifier import verify_bundle

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "packseal"]


def _run(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **HUB_ENV},
        timeout=300,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"packseal {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done


def _station_config(base: Path, name: str, root: Path, hub_url: str, token: str) -> Path:
    config = base / name / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "merchant": {"name": "Test Shop", "id": "test"},
                "station": {"id": name, "camera": {"width": 640, "height": 360, "fps": 15}},
                "keys": {"root": str(root)},
                "hub": {
                    "url": hub_url,
                    "token": token,
                    "push_interval_seconds": 0.2,
                    "retry_seconds": 0.2,
                    "max_retry_seconds": 1.0,
                    "batch_entries": 8,
                },
                "time": {"drain_seconds": 3.0},
            }
        )
    )
    return config


def _enrol(hub_config: Path, station: str) -> str:
    out = _run(hub_config, "hub", "enrol", station).stdout
    token = out.splitlines()[1].strip()
    assert token.startswith("psh_")
    return token


def _open(config: Path, origin: str) -> Store:
    data = config.parent / "data"
    return Store.open(f"sqlite:///{data / 'packseal.db'}", data / "blobs", origin)


def test_three_stations_one_hub_with_the_hub_killed_mid_recording(
    tmp_path: Path, hub_process: Any
) -> None:
    """Three `packseal record` processes push to a `packseal serve` hub process, which
    is SIGKILLed once every station has pushed and restarted 3 s later. The set-up and the
    checks run in this process (enrol, init, export: the code the CLI calls); the station
    CLI's own `hub enrol`, `hub push`, `verify` and `purge` run once each as commands."""
    root = tmp_path / "merchant" / "root.pem"
    generate_key_file(root)
    hub = hub_process(root).start()
    watcher = Hub(load_config(hub.config), HUB_ENV)
    names = ["station-01", "station-02", "station-03"]
    tokens = [_enrol(hub.config, names[0])]
    tokens += [watcher.mirror.enrol(n, 0).token for n in names[1:]]
    configs = [
        _station_config(tmp_path, n, root, hub.url, t) for n, t in zip(names, tokens, strict=True)
    ]
    for c in configs:
        App(load_config(c)).init()
    # Forked from a server that imported packseal once (tests/forked.py), as the hub is.
    recorders = [
        packseal_process(
            [
                "--config",
                str(c),
                "record",
                "--source",
                f"demo:{i + 1}",
                "--fast",
                "--for",
                "20",  # the demo's first order is sealed within 20 s of footage
                "--epoch",  # weeks ago: the purge at the end may delete it
                "2026-11-18T09:00:00Z",
            ],
            output=c.parent / "record.log",
        )
        for i, c in enumerate(configs)
    ]
    # The partition: once every station has pushed something, the hub dies (SIGKILL) and
    # stays away while they keep recording; then it comes back.
    origins = [f"packseal.local/test/{n}" for n in names]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        sizes = [watcher.mirror.size(n) for n in names]
        if all(s > 0 for s in sizes):
            break
        time.sleep(0.2)
    assert all(s > 0 for s in sizes), sizes
    hub.kill()
    time.sleep(3)
    grew = []
    for c, o, before in zip(configs, origins, sizes, strict=True):
        s = _open(c, o)
        grew.append(s.size() > before)
        s.close()
    hub.start()
    for r, c in zip(recorders, configs, strict=True):
        r.join(300)
        assert r.exitcode == 0, (c.parent / "record.log").read_text()
    assert any(grew), "no station recorded while the hub was down"
    # Whatever the exit drain did not send, one more push does (as the next run would).
    _run(configs[0], "hub", "push")
    for c in configs[1:]:
        app = App(load_config(c))
        assert app.config.hub is not None
        pusher = Pusher(app.store, app.config.hub, app.config.hub.token or "", SystemClock())
        try:
            pusher.cycle()
        finally:
            pusher.close()
            app.close()
    for i, (name, c, origin) in enumerate(zip(names, configs, origins, strict=True)):
        station = _open(c, origin)
        mirror = watcher.mirror.store_of(name)
        app = App(load_config(c))
        try:
            assert mirror.size() == station.size()
            assert mirror.root() == station.root()
            assert Outbox(station).backlog().blobs == 0
            assert Outbox(station).backlog().entries == 0
            clips = station.clips()
            assert clips, f"{name} sealed no clip"
            assert [c.clip_id for c in mirror.clips()] == [c.clip_id for c in clips]
            # the newest clip of each station: the station's export and the hub's
            row = clips[0]
            mine = app.export(row.clip_id, tmp_path / f"{row.clip_id}-station.zip").path
            theirs = tmp_path / f"{row.clip_id}-hub.zip"
            export_mirrored(mirror, row.clip_id, theirs)
            assert theirs.read_bytes() == mine.read_bytes()
            trust = app.trust_file()
            verify_bundle(theirs, trust)  # raises unless every check passes
            if i == 0:  # and once as a reviewer would, with the CLI and the trust file
                (tmp_path / "trust.json").write_bytes(trust.to_bytes())
                _run(c, "verify", str(theirs), "--trust", str(tmp_path / "trust.json"))
        finally:
            station.close()
            app.close()
    watcher.close()
    # Everything is held: retention may now delete the media (and logs a purge entry).
    done = _run(configs[0], "purge", "--older-than", "1")
    assert "kept" not in done.stdout
    assert "deleted" in done.stdout
    hub.stop()


def mirrored(config: Path, station: str) -> tuple[Hub, Store]:
    h = Hub(load_config(config), HUB_ENV)
    return h, h.mirror.store_of(station)


def test_media_stay_until_the_hub_holds_them(
    recorded: Path, tmp_path: Path, hub_process: Any
) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    config = data.parent / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data),
                "merchant": {"name": "Test Shop", "id": "test"},
                "station": {"id": "station-01", "camera": {"width": 640, "height": 360}},
                "keys": {"root": str(root)},
                "hub": {"url": "http://127.0.0.1:9", "token": "psh_" + "x" * 30},
            }
        )
    )
    blobs = sum(1 for _ in (data / "blobs").glob("??/??/*"))
    done = _run(config, "purge", "--older-than", "1")  # the hub never acknowledged any
    assert "kept" in done.stdout
    assert sum(1 for _ in (data / "blobs").glob("??/??/*")) == blobs


def test_hub_killed_during_pushes_ten_times_then_every_mirrored_log_verifies(
    recorded: Path, tmp_path: Path, hub_process: Any
) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = hub_process(root).start()
    token = _enrol(hub.config, "station-01")
    app = station_app(data, root, "station-01")
    link = HubLinkConfig(
        url=hub.url,
        token=token,
        push_interval_seconds=0.02,
        retry_seconds=0.05,
        max_retry_seconds=0.2,
        batch_entries=2,
    )
    rng = random.Random(9)
    kills = 0
    pusher = Pusher(app.store, link, token, SystemClock())
    # Each trial: forget what the hub acknowledged (as a station restored from a backup
    # would), push from scratch in the background, SIGKILL the hub mid-way, restart it.
    for _ in range(10):
        app.store._engine.dispose()
        Outbox(app.store).acked(0, 0)
        runner = threading.Thread(target=_drain, args=(pusher,), daemon=True)
        pusher._stop.clear()
        runner.start()
        time.sleep(rng.uniform(0.05, 0.6))
        hub.kill()
        kills += 1
        pusher._stop.set()
        runner.join(30)
        hub.start()
    pusher._stop.clear()
    report = _drain(pusher, within_s=120)
    assert report is not None
    assert report.done
    pusher.close()
    assert kills == 10
    h, store = mirrored(hub.config, "station-01")
    try:
        verifier = load_signer(data / "keys" / "station.pem", app.config.origin).verifier
        store.verify_log([verifier])
        assert store.root() == app.store.root()
        for sha in app.store._blobs:
            assert store.blob_exists(sha)
    finally:
        h.close()
    app.close()
    hub.stop()


def _drain(pusher: Pusher, within_s: float | None = None) -> Any:
    """Cycle until done or stopped (errors while the hub is down are retried). With
    ``within_s``, a push still failing after that long fails the test with the hub's last
    answer: a refusal that never ends is a bug, and it hung the suite once (the hub
    refused its own cosignature, 422, some 15,000 times)."""
    deadline = None if within_s is None else time.monotonic() + within_s
    last: PacksealError | None = None
    while not pusher._stop.is_set():
        if deadline is not None and time.monotonic() > deadline:
            pytest.fail(f"the push did not finish in {within_s} s; last error: {last}")
        try:
            report = pusher.cycle()
        except PacksealError as e:
            last = e
            time.sleep(0.05)
            continue
        if report.done:
            return report
    return None
