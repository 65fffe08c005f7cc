"""A real station running in real time on the demo source, for the station screen tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from packseal.app import App
from packseal.runner import make_station
from recorder.demo import DemoScene
from recorder.sources import DemoSource
from recorder.station import Station
from tests.recording import make_app

# The demo's own barcodes sit in the middle of the table; a scan zone in a corner keeps
# the camera from reading them, so only what a test types opens a clip.
CORNER_ZONE = [0.0, 0.0, 0.05, 0.05]


@contextmanager
def running_station(data_dir: Path, **station: object) -> Iterator[tuple[App, Station]]:
    scan = {"zone": CORNER_ZONE, **station.pop("scan", {})}  # type: ignore[dict-item]
    app = make_app(data_dir, scan=scan, **station)
    cam = app.config.station.camera
    scene = DemoScene(cam.width, cam.height, cam.fps, seed=1, orders=4)
    source = DemoSource(scene, app.clock, realtime=True, epoch_ms=None)
    recorder = make_station(app, source, realtime=True)
    thread = threading.Thread(target=recorder.run, name="test-station", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while recorder.latest_frame is None or recorder.status().state == "starting":
            assert thread.is_alive(), "the station stopped while starting"
            assert time.monotonic() < deadline, "the station did not start in 20 s"
            time.sleep(0.05)
        yield app, recorder
    finally:
        recorder.stop()
        thread.join(60)
        app.close()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
