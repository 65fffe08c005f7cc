"""Record real footage for tests: the demo source through the real station and ffmpeg.

Small frames (640x360 at 15 fps) keep a recorded order to about a second of CPU; the
scene's barcodes still decode at that size (recorder/demo.py measured 960x540 and up
exhaustively, and the tests below check every order of the seeds they use).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from packseal.app import App
from packseal.config import parse_config
from packseal.runner import make_station
from recorder._demolayout import Catalogue
from recorder.clock import SystemClock
from recorder.demo import DemoScene
from recorder.sources import DemoSource
from recorder.station import Station

EPOCH_MS = 1_795_000_000_000  # 2026-11-18T09:46:40Z: every test recording starts here
SIZE = {"width": 640, "height": 360, "fps": 15}


@dataclass
class Recording:
    app: App
    scene: DemoScene
    station: Station
    epoch_ms: int

    @property
    def data_dir(self) -> Path:
        return self.app.config.data_dir


def make_app(data_dir: Path, **station: object) -> App:
    settings: dict[str, object] = {"camera": dict(SIZE), **station}
    cfg = parse_config(
        {
            "data_dir": str(data_dir),
            "merchant": {"name": "Test Shop", "id": "test"},
            "station": settings,
        },
        base=data_dir.parent,
    )
    app = App(cfg, clock=SystemClock())
    app.init()
    return app


def record_demo(
    data_dir: Path,
    *,
    orders: int = 3,
    seed: int = 1,
    epoch_ms: int = EPOCH_MS,
    app: App | None = None,
    products: Catalogue | None = None,
    **station: object,
) -> Recording:
    """Record ``orders`` demo orders as fast as possible, with reproducible capture times
    (``products``: the demo's catalogue, see :class:`DemoScene`)."""
    app = app or make_app(data_dir, **station)
    cam = app.config.station.camera
    scene = DemoScene(cam.width, cam.height, cam.fps, seed=seed, orders=orders, products=products)
    source = DemoSource(scene, app.clock, realtime=False, epoch_ms=epoch_ms)
    station_ = make_station(app, source, realtime=False)
    station_.run()
    return Recording(app, scene, station_, epoch_ms)


def copy_store(src: Path, dst: Path) -> Path:
    """A private copy of a recorded data directory (for tests that tamper with it)."""
    shutil.copytree(src, dst)
    return dst
