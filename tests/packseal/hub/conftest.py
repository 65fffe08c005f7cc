"""A real hub for tests: PostgreSQL (a private schema), SeaweedFS, the push API on
127.0.0.1, and stations that record the demo source, certified by one merchant root."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from packseal.app import App
from packseal.config import parse_config
from packseal.hub.app import Hub
from packseal.hub.portal import create_hub_portal
from packseal.web.server import ServerThread
from recorder.clock import SystemClock
from storage import generate_key_file, load_signer
from tests.forked import packseal_process
from tests.objectstore import ACCESS_KEY, LOCKED_BUCKET, SECRET_KEY, Seaweed
from tests.recording import SIZE, record_demo

HUB_ENV = {"PACKSEAL_S3_ACCESS_KEY_ID": ACCESS_KEY, "PACKSEAL_S3_SECRET_ACCESS_KEY": SECRET_KEY}


@pytest.fixture
def hub_db(pg_server: str) -> Iterator[str]:
    schema = f"hub_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def merchant_root(tmp_path: Path) -> Path:
    path = tmp_path / "merchant" / "root.pem"
    generate_key_file(path)
    return path


def hub_settings(
    db_url: str, endpoint: str, root: Path, *, bucket: str = LOCKED_BUCKET
) -> dict[str, Any]:
    vkey = load_signer(root, "test").verifier.vkey
    return {
        "database_url": db_url,
        "object_store": {"endpoint": endpoint, "bucket": bucket, "prefix": f"{uuid.uuid4()}/"},
        "merchant_roots": [vkey],
    }


@dataclass
class RunningHub:
    hub: Hub
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def start_hub(tmp_path: Path, hub_db: str, seaweed: Seaweed) -> Iterator[Any]:
    """``start_hub(root_key, endpoint=None, **hub_server)``: a hub trusting that merchant
    root, serving on a free port (the object store at ``endpoint``, default the session's
    SeaweedFS); ``hub_server`` adds or replaces settings of that section."""
    running: list[RunningHub] = []

    def start(root: Path, endpoint: str | None = None, **extra: Any) -> RunningHub:
        settings = hub_settings(hub_db, endpoint or seaweed.endpoint, root)
        cfg = parse_config(
            {
                "data_dir": str(tmp_path / f"hub{len(running)}"),
                "merchant": {"name": "Test Shop", "id": "test"},
                "hub_server": {**settings, **extra},
            },
            base=tmp_path,
        )
        hub = Hub(cfg, HUB_ENV, SystemClock())
        server = ServerThread(create_hub_portal(App(cfg, SystemClock()), hub)).start()
        running.append(RunningHub(hub, server))
        return running[-1]

    yield start
    for r in running:
        r.server.stop()
        r.hub.close()


def station_app(
    data_dir: Path, root: Path, station: str, hub: dict[str, Any] | None = None, **extra: Any
) -> App:
    raw: dict[str, Any] = {
        "data_dir": str(data_dir),
        "merchant": {"name": "Test Shop", "id": "test"},
        "station": {"id": station, "camera": dict(SIZE)},
        "keys": {"root": str(root)},
    }
    if hub is not None:
        raw["hub"] = hub
    raw.update(extra)
    app = App(parse_config(raw, base=data_dir.parent), clock=SystemClock())
    app.init()
    return app


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One station's recording (2 demo orders), certified by a root saved beside it."""
    base = tmp_path_factory.mktemp("recorded")
    root = base / "root.pem"
    generate_key_file(root)
    app = station_app(base / "station", root, "station-01")
    record_demo(base / "station", orders=2, app=app)
    app.close()
    return base


def copy_recorded(recorded: Path, dst: Path) -> tuple[Path, Path]:
    """(data_dir, root key) of a private copy of the recorded station."""
    shutil.copytree(recorded, dst)
    return dst / "station", dst / "root.pem"


class HubProcess:
    """``packseal serve`` on a hub config, as its own process, so tests can SIGKILL it.
    Forked from a server that imported packseal once (tests/forked.py): a fresh
    interpreter took ~1.9 s of each start, eleven starts in the ten-kill test."""

    def __init__(self, config: Path, port: int, env: dict[str, str], log: Path) -> None:
        self.config = config
        self.port = port
        self.env = env
        self.log = log
        self.proc: BaseProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> HubProcess:
        args = ["--config", str(self.config), "serve"]
        self.proc = packseal_process(args, output=self.log, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.is_alive():
                raise RuntimeError(f"the hub exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"the hub did not listen in {timeout} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.join(15)
            if self.proc.exitcode is None:
                self.proc.kill()
                self.proc.join(10)
            self.proc = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub_process(tmp_path: Path, hub_db: str, seaweed: Seaweed) -> Iterator[Any]:
    """``hub_process(root_key)``: a hub config on disk and its (not yet started) process."""
    made: list[HubProcess] = []

    def make(root: Path) -> HubProcess:
        port = free_port()
        settings = hub_settings(hub_db, seaweed.endpoint, root)
        settings["port"] = port
        config = tmp_path / "hub" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(tmp_path / "hub" / "data"),
                    "merchant": {"name": "Test Shop", "id": "test"},
                    "hub_server": settings,
                }
            )
        )
        env = {**os.environ, **HUB_ENV}
        made.append(HubProcess(config, port, env, tmp_path / "hub" / "hub.log"))
        return made[-1]

    yield make
    for h in made:
        h.kill()
