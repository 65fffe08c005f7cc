"""``packseal record``'s station on the webcam-like camera of tests/webcam.py, in a process
of its own so that its CPU is measured alone (bench/webcam.py).

    python -m bench._webcam_station CONFIG SOCKET[,SOCKET] WxH SECONDS STATS_JSON

Two sockets: a two-camera station (``station.cameras``), one fake camera per view.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from packseal.app import App
from packseal.config import load_config
from packseal.runner import make_station, run_station
from tests.webcam import FakeWebcamSource


def main(argv: list[str]) -> int:
    config, socks, size, seconds, stats = argv
    width, height = (int(x) for x in size.split("x"))
    app = App(load_config(Path(config)))
    fps = app.config.station.camera.fps
    sources = [
        FakeWebcamSource(Path(sock), (width, height), fps, app.clock) for sock in socks.split(",")
    ]
    station = make_station(app, sources, realtime=True, for_ms=round(float(seconds) * 1000))
    try:
        run_station(app, station, echo=lambda _: None)
    finally:
        Path(stats).write_text(json.dumps(station.stats(), indent=2) + "\n")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
