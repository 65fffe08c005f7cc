"""`packseal config check` for both sides of the hub, and the hub commands."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from packseal.cli import main
from tests.objectstore import Seaweed
from tests.packseal.hub.conftest import HUB_ENV, hub_settings


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_config_check_reaches_the_hubs_engines(
    tmp_path: Path,
    hub_db: str,
    seaweed: Seaweed,
    merchant_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _write(
        tmp_path / "hub.yaml",
        {
            "data_dir": str(tmp_path / "data"),
            "hub_server": hub_settings(hub_db, seaweed.endpoint, merchant_root),
        },
    )
    for k in HUB_ENV:
        monkeypatch.delenv(k, raising=False)
    assert main(["--config", str(config), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "PACKSEAL_S3_ACCESS_KEY_ID" in err
    for k, v in HUB_ENV.items():
        monkeypatch.setenv(k, v)
    assert main(["--config", str(config), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert "Object Lock compliance mode, 1 days default retention" in out
    assert "0 enrolled station(s)" in out
    assert main(["--config", str(config), "hub", "enrol", "station-07"]) == 0
    token = capsys.readouterr().out.splitlines()[1].strip()
    assert token.startswith("psh_")
    assert main(["--config", str(config), "hub", "stations"]) == 0
    assert "station-07" in capsys.readouterr().out
    # the hub portal's accounts: the same `users` commands, kept in the hub's database
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(
            ["--config", str(config), "users", "add", "ann", "--role", "admin", "--password-stdin"]
        )
        == 0
    )
    assert main(["--config", str(config), "users", "list"]) == 0
    assert "ann" in capsys.readouterr().out
    engine = create_engine(hub_db)
    with engine.connect() as conn:
        role = conn.execute(text("SELECT role FROM users WHERE name = 'ann'")).scalar()
    engine.dispose()
    assert role == "admin"
    assert main(["--config", str(config), "hub", "revoke", "station-07"]) == 0
    assert main(["--config", str(config), "hub", "revoke", "station-07"]) == 2
    assert "no enrolled station" in capsys.readouterr().err
    # a station's side: the token from a variable that is not set
    station = _write(
        tmp_path / "station.yaml",
        {
            "data_dir": str(tmp_path / "st"),
            "hub": {"url": "http://127.0.0.1:9", "token_env": "PACKSEAL_HUB_TOKEN"},
        },
    )
    monkeypatch.delenv("PACKSEAL_HUB_TOKEN", raising=False)
    assert main(["--config", str(station), "config", "check"]) == 1
    assert "PACKSEAL_HUB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("PACKSEAL_HUB_TOKEN", token)
    assert main(["--config", str(station), "config", "check"]) == 0


def test_config_check_names_bad_hub_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(
        tmp_path / "c.yaml",
        {
            "hub": {"url": "ftp://x", "token": "short", "token_env": "X"},
            "hub_server": {
                "database_url": "sqlite:///x.db",
                "object_store": {"endpoint": "http://s3", "bucket": "B"},
                "merchant_roots": ["not-a-vkey"],
            },
        },
    )
    assert main(["--config", str(config), "config", "check"]) == 1
    err = capsys.readouterr().err
    for key in (
        "hub.url",
        "hub.token",
        "hub_server.database_url",
        "hub_server.object_store.bucket",
        "hub_server.merchant_roots",
    ):
        assert key in err, key
