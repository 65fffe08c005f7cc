"""`packseal share`: make, list and revoke a link from the command line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from packseal.cli import main
from packseal.web.shares import Shares
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import make_portal
from tests.recording import Recording, make_app

CONFIG = """\
merchant: {name: Test Shop, id: test}
station:
  camera: {width: 640, height: 360, fps: 15}
web: {public_url: "https://evidence.shop.example/portal"}
"""


def test_share_make_list_revoke(
    recording: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(recording.data_dir, data)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    base = ["--config", str(config), "--data-dir", str(data)]
    app = make_app(data)
    try:
        row = sorted(app.store.clips(), key=lambda r: r.start_ms)[0]
    finally:
        app.close()

    assert main([*base, "share", row.order_id, "--days", "14"]) == 0
    out, err = capsys.readouterr()
    match = re.fullmatch(r"https://evidence\.shop\.example/portal/s/(psl_[A-Za-z0-9_-]{43})\n", out)
    assert match, out
    assert "shown once" in err
    secret = match[1]

    # Stored only as a hash: the secret is nowhere in the database file.
    assert secret.encode() not in b"".join(p.read_bytes() for p in data.rglob("*.db*"))

    assert main([*base, "share", "--list"]) == 0
    listed = capsys.readouterr().out
    assert row.order_id in listed
    assert "live" in listed

    app = make_app(data)
    try:
        portal = make_portal(app)
        with TestClient(portal.web) as client:
            assert client.get(f"/s/{secret}").status_code == 200
            link = Shares(portal.accounts.engine).resolve(secret, at_ms=app.clock.now_ms())
            assert link is not None
            assert link.clip_id == row.clip_id
            assert main([*base, "share", "--revoke", str(link.id)]) == 0
            assert "revoked share link" in capsys.readouterr().out
            assert client.get(f"/s/{secret}").status_code == 404
        actions = [e.action for e in portal.accounts.custody(row.clip_id)]
        assert actions[:3] == ["share-revoke", "share-open", "share-create"]
    finally:
        app.close()

    assert main([*base, "share", "--revoke", str(link.id)]) == 2
    assert "not already revoked" in capsys.readouterr().err
    assert main([*base, "share", "NO-SUCH-ORDER"]) == 2
    assert main([*base, "share", row.order_id, "--days", "400"]) == 2


def test_bundles_point_reviewers_to_the_portal_verify_page(tmp_path: Path) -> None:
    from packseal.app import App
    from packseal.config import parse_config

    base = {"data_dir": str(tmp_path / "data"), "merchant": {"name": "Shop", "id": "shop"}}
    assert App(parse_config(base, base=tmp_path)).verify_url() is None
    portal = {**base, "web": {"public_url": "https://evidence.shop.example/"}}
    app = App(parse_config(portal, base=tmp_path))
    assert app.verify_url() == "https://evidence.shop.example/verify"
    assert app.export_policy().verify_url == "https://evidence.shop.example/verify"
    own = {**portal, "trust": {"verify_url": "https://shop.example/check.html"}}
    assert App(parse_config(own, base=tmp_path)).verify_url() == "https://shop.example/check.html"
