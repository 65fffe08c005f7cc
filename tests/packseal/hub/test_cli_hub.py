"""`packseal config check` for both sides of the hub, and the hub commands."""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from packseal.cli import main
from storage.certs import CredentialFiles, write_credentials
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


def test_keys_x509_hub_issues_the_hubs_c2pa_certificate_and_config_check_checks_it(
    tmp_path: Path,
    hub_db: str,
    seaweed: Seaweed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    station = tmp_path / "station"
    station.mkdir()
    (station / "config.yaml").write_text(
        "merchant: {name: Test Shop, id: test}\nc2pa: {enabled: true}\n"
    )
    monkeypatch.chdir(station)
    assert main(["init"]) == 0
    assert main(["keys", "x509"]) == 0
    out = tmp_path / "hub-c2pa"
    assert main(["keys", "x509-hub", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CN=packseal-hub/test" in printed
    assert f"chain: {out / 'hub-c2pa-chain.pem'}" in printed
    key = out / "hub-c2pa.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    leaf, ca = x509.load_pem_x509_certificates((out / "hub-c2pa-chain.pem").read_bytes())
    assert ca == x509.load_pem_x509_certificate((station / "data/keys/c2pa-ca.pem").read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert main(["keys", "x509-hub", "--out", str(out)]) == 2  # never overwrites a key
    assert "refusing to overwrite" in capsys.readouterr().err

    for k, v in HUB_ENV.items():
        monkeypatch.setenv(k, v)
    root = station / "data/keys/root.pem"
    settings = hub_settings(hub_db, seaweed.endpoint, root)
    c2pa = {"chain": "hub-c2pa/hub-c2pa-chain.pem", "key": "hub-c2pa/hub-c2pa.key"}
    config = _write(
        tmp_path / "hub.yaml",
        {"data_dir": str(tmp_path / "hub"), "hub_server": {**settings, "c2pa": c2pa}},
    )
    assert main(["--config", str(config), "config", "check"]) == 0
    assert "signs clip.c2pa.mp4 as O=Test Shop,CN=packseal-hub/test" in capsys.readouterr().out
    key.chmod(0o644)
    assert main(["--config", str(config), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "hub_server.c2pa" in err
    assert "others can access a private key" in err
    # a certificate under another merchant's CA: the trust file would not trust it
    key.chmod(0o600)
    other = tmp_path / "other"
    write_credentials(
        CredentialFiles(other / "ca.pem", other / "chain.pem", other / "c2pa.key"),
        Ed25519PrivateKey.generate(),
        alg="es256",
        station="packseal-hub/test",
        merchant="Other Shop",
        now=dt.datetime.now(dt.UTC),
    )
    c2pa = {"chain": str(other / "chain.pem"), "key": str(other / "c2pa.key")}
    _write(config, {"data_dir": str(tmp_path / "hub"), "hub_server": {**settings, "c2pa": c2pa}})
    assert main(["--config", str(config), "config", "check"]) == 1
    assert "not issued by the C2PA CA of a merchant root" in capsys.readouterr().err
