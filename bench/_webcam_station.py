"""``packseal record``'s station on the webcam-like camera of tests/webcam.py, in a process
of its own so that its CPU is measured alone (bench/webcam.py).

    python -m bench._webcam_station CONFIG SOCKET WxH SECONDS STATS_JSON
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
    config, sock, size, seconds, stats = argv
    width, height = (int(x) for x in size.split("x"))
    app = App(load_config(Path(config)))
    cam = app.config.station.camera
    source = FakeWebcamSource(Path(sock), (width, height), cam.fps, app.clock)
    station = make_station(app, source, realtime=True, for_ms=round(float(seconds) * 1000))
    try:
        run_station(app, station, echo=lambda _: None)
    finally:
        Path(stats).write_text(json.dumps(station.stats(), indent=2) + "\n")
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
