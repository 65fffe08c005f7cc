"""One export path: the portal's bundles meet the trust file the merchant publishes, as the
CLI's do, on an anchored station and after a key rotation."""

# The verifier's session fixtures are imported below, and pytest passes them in by name,
# which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from packseal.app import App
from packseal.cli import main
from packseal.config import load_config
from storage import ClipRow, TrustFile
from tests.anchored import Anchored
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import Portal, make_portal, session_for
from tests.recording import SIZE, record_demo
from tests.verifier.conftest import anchored  # noqa: F401
from verifier.verify import verify_bundle


def _published_trust(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The trust file as the merchant publishes it: `packseal keys trust`."""
    capsys.readouterr()
    assert main(["--config", str(config), "keys", "trust"]) == 0
    out.write_text(capsys.readouterr().out)
    return out


def _download(portal: Portal, row: ClipRow, out: Path) -> Path:
    cookie, _ = session_for(portal, "merchant")
    with TestClient(portal.web, follow_redirects=False) as client:
        client.cookies.set("packseal_session", cookie)
        got = client.get(f"/clips/{row.clip_id}/bundle.zip")
    assert got.status_code == 200, got.text
    out.write_bytes(got.content)
    return out


def test_a_portal_bundle_of_an_anchored_station_verifies_against_keys_trust(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = anchored.app
    row = sorted(app.store.clips(), key=lambda r: r.start_ms)[0]
    bundle = _download(make_portal(app), row, tmp_path / "portal.zip")
    trust = _published_trust(anchored.config, tmp_path / "trust.json", capsys)
    # The trust file requires a time-stamp, one witness and C2PA: the portal's bundle
    # carries them as the CLI's does.
    assert main(["verify", str(bundle), "--trust", str(trust)]) == 0, capsys.readouterr()
    report = verify_bundle(bundle, TrustFile.from_bytes(trust.read_bytes())).report
    assert {c.name for c in report.checks if c.ok} >= {"time", "witness", "c2pa"}


def test_a_clip_sealed_before_keys_rotate_exports_from_cli_and_portal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "merchant": {"name": "Test Shop", "id": "test"},
                "station": {"camera": dict(SIZE)},
            }
        )
    )
    app = App(load_config(config))
    app.init()
    record_demo(app.config.data_dir, orders=1, app=app)
    (row,) = app.store.clips()
    app.close()
    assert main(["--config", str(config), "keys", "rotate"]) == 0
    trust = _published_trust(config, tmp_path / "trust.json", capsys)

    cli_bundle = tmp_path / "cli.zip"
    assert main(["--config", str(config), "export", row.clip_id, "-o", str(cli_bundle)]) == 0
    assert main(["verify", str(cli_bundle), "--trust", str(trust)]) == 0, capsys.readouterr()

    rotated = App(load_config(config))
    try:
        portal_bundle = _download(make_portal(rotated), row, tmp_path / "portal.zip")
    finally:
        rotated.close()
    assert main(["verify", str(portal_bundle), "--trust", str(trust)]) == 0, capsys.readouterr()
