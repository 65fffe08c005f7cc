"""An anchored recording for tests: a station with a real TSA and a real witness.

Both servers run on 127.0.0.1 for the whole test session (``tests/servers.py``); the
station records the demo source through the real station and ffmpeg, time-stamping and
witnessing its checkpoints as it goes, and holds C2PA credentials issued from its
merchant root. The trust file it publishes requires all three.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from packseal.app import App
from packseal.config import load_config
from packseal.witness import add_log, init_witness
from recorder.clock import SystemClock
from storage import TrustFile
from tests.recording import SIZE, Recording, record_demo
from tests.servers import Tsa, WitnessServer, make_tsa_keys, serve_tsa, serve_witness

WITNESS = "witness.test/w1"


@dataclass
class Anchored:
    recording: Recording
    tsa: Tsa
    witness: WitnessServer
    witness_state: Path
    config: Path  # the station's config.yaml (for CLI tests)
    trust: TrustFile  # the merchant's: requires a time-stamp, 1 of 1 witnesses, C2PA
    bundle: Path  # honest anchored bundle of the first clip
    other: Path  # honest anchored bundle of the second clip

    @property
    def app(self) -> App:
        return self.recording.app


def station_config(
    base: Path, tsa: Tsa, witness: WitnessServer, tsa_root: Path, **extra: Any
) -> dict[str, Any]:
    return {
        "data_dir": str(base / "data"),
        "merchant": {"name": "Test Shop", "id": "test"},
        # B-frames (x264's veryfast's 3; the station's default is 0): its init sections
        # carry the leading empty edit of the B-frame delay the bundle's timeline restores
        "station": {"camera": dict(SIZE), "encoder": {"bframes": 3}},
        "time": {"tsa_urls": [tsa.url], "tsa_roots": [str(tsa_root)], "retry_seconds": 0.2},
        "witnesses": [{"url": witness.url, "vkey": witness.vkey}],
        "c2pa": {"enabled": True},
        "trust": {"witness_quorum": 1},
        **extra,
    }


def export(app: App, clip: str, out: Path) -> Path:
    return app.export(clip, out).path


def make_anchored(base: Path, stack: contextlib.ExitStack, *, orders: int = 2) -> Anchored:
    base.mkdir(parents=True, exist_ok=True)
    tsa = stack.enter_context(serve_tsa(make_tsa_keys()))
    tsa_root = base / "tsa-root.pem"
    tsa_root.write_text(tsa.keys.root_pem)
    state = base / "witness"
    init_witness(state, WITNESS, [])
    witness = stack.enter_context(serve_witness(state))
    config = base / "config.yaml"
    config.write_text(yaml.safe_dump(station_config(base, tsa, witness, tsa_root)))
    app = App(load_config(config), clock=SystemClock())
    app.init()
    add_log(state, app.station_signer.verifier.vkey)
    witness.witness.reload()
    app.issue_c2pa()
    recording = record_demo(app.config.data_dir, orders=orders, app=app)
    rows = sorted(app.store.clips(), key=lambda r: r.start_ms)
    bundles = base / "bundles"
    bundles.mkdir()
    first = export(app, rows[0].clip_id, bundles / "anchored.zip")
    second = export(app, rows[1].clip_id, bundles / "anchored-other.zip")
    return Anchored(recording, tsa, witness, state, config, app.trust_file(), first, second)
