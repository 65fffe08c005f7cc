"""The hub's faces: the authorization matrix over its own routes, the fleet, search
across stations, play, export, and tlog-tiles that rebuild the signed root."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from packseal.config import HubLinkConfig
from packseal.hub.pusher import Pusher
from recorder.clock import SystemClock
from storage import merkle
from storage.checkpoint import Checkpoint
from storage.note import parse
from tests.packseal.hub.conftest import copy_recorded, station_app

# Who may use each hub route (method, path pattern); every other role gets 403.
PUSH = {"station"}
ALL = {"merchant", "auditor", "admin"}
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", "/hub/v1/push"): PUSH,
    ("GET", "/hub/v1/size"): PUSH,
    ("PUT", "/hub/v1/blobs/{sha256}"): PUSH,
    ("HEAD", "/hub/v1/blobs/{sha256}"): PUSH,
    ("GET", "/hub"): ALL,
    ("GET", "/hub/v1/fleet"): ALL,
    ("GET", "/hub/search"): ALL,
    ("GET", "/hub/v1/clips"): ALL,
    ("GET", "/hub/v1/clips/{station}/{clip_id}/video"): ALL,
    ("GET", "/hub/v1/clips/{station}/{clip_id}/bundle"): {"merchant", "admin"},
    ("GET", "/tiles/{station}/checkpoint"): ALL,
    ("GET", "/tiles/{station}/tile/{path:path}"): ALL,
    ("GET", "/hub/static/hub.css"): {"anonymous"},
}


@pytest.fixture
def fleet(recorded: Path, tmp_path: Path, start_hub: Any) -> dict[str, Any]:
    """A hub holding one recorded station, and a token per role (and the station's)."""
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    token = hub.hub.mirror.enrol("station-01", 0).token
    app = station_app(data, root, "station-01")
    link = HubLinkConfig(url=hub.url, token=token)
    pusher = Pusher(app.store, link, token, SystemClock())
    assert pusher.cycle().done
    pusher.close()
    tokens = {"station": token}
    for role in ("merchant", "auditor", "admin"):
        hub.hub.accounts.add_user(role, role, "x" * 20, at_ms=0)  # type: ignore[arg-type]
        tokens[role] = hub.hub.accounts.issue_token(role, label="t", at_ms=0)
    clip = app.store.clips()[0]
    yield {"hub": hub, "app": app, "tokens": tokens, "clip": clip}
    app.close()


def _url(path: str, clip: Any) -> str:
    return (
        path.replace("{sha256}", "a" * 64)
        .replace("{station}", "station-01")
        .replace("{clip_id}", clip.clip_id)
        .replace("{path:path}", "0/000.p/1")
    )


def test_every_hub_route_is_in_the_matrix_and_enforced(fleet: dict[str, Any]) -> None:
    hub = fleet["hub"]
    from packseal.hub.api import make_hub_api

    routes = {
        (m, r.path)
        for r in make_hub_api(hub.hub).routes
        if isinstance(r, APIRoute)
        for m in r.methods
    }
    assert routes == set(MATRIX), "a hub route without a row in the matrix"
    for (method, path), allowed in MATRIX.items():
        url = hub.url + _url(path, fleet["clip"])
        anonymous = httpx.request(method, url, timeout=120)
        if "anonymous" in allowed:
            assert anonymous.status_code == 200, (method, path)
            continue
        assert anonymous.status_code == 401, (method, path)
        for who, token in fleet["tokens"].items():
            got = httpx.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, timeout=120
            )
            if who in allowed:
                assert got.status_code not in (401, 403), (method, path, who, got.text)
            else:
                assert got.status_code in (401, 403), (method, path, who)


def test_fleet_search_play_and_export(fleet: dict[str, Any], tmp_path: Path) -> None:
    hub, app, clip = fleet["hub"], fleet["app"], fleet["clip"]
    auth = {"Authorization": f"Bearer {fleet['tokens']['merchant']}"}
    doc = httpx.get(hub.url + "/hub/v1/fleet", headers=auth).json()
    assert "compliance mode" in doc["object_lock"]
    (row,) = doc["stations"]
    assert row["station"] == "station-01"
    assert row["size"] == app.store.size()
    assert row["witness"] == "cosigned"
    assert row["consistency"] == "consistent"
    assert row["backlog"]["blobs"] == 0
    # what the station said it had left: nothing, after the cycle that emptied it
    assert row["station_backlog"] == {"entries": 0, "blobs": 0, "bytes": 0, "oldest": None}
    page = httpx.get(hub.url + "/hub", headers=auth)
    assert "station-01" in page.text
    assert "compliance mode" in page.text
    found = httpx.get(
        hub.url + "/hub/v1/clips", params={"order": clip.order_id}, headers=auth
    ).json()["clips"]
    assert [c["clip_id"] for c in found] == [clip.clip_id]
    day = __import__("datetime").datetime.fromtimestamp(clip.started_ms / 1000).date()
    by_station = httpx.get(
        hub.url + "/hub/v1/clips",
        params={"station": "station-01", "date": day.isoformat()},
        headers=auth,
    ).json()["clips"]
    assert clip.clip_id in {c["clip_id"] for c in by_station}
    if clip.tracking_ids:
        t = httpx.get(
            hub.url + "/hub/v1/clips", params={"tracking": clip.tracking_ids[0]}, headers=auth
        ).json()["clips"]
        assert clip.clip_id in {c["clip_id"] for c in t}
    video = httpx.get(f"{hub.url}/hub/v1/clips/station-01/{clip.clip_id}/video", headers=auth)
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    bundle = httpx.get(
        f"{hub.url}/hub/v1/clips/station-01/{clip.clip_id}/bundle", headers=auth, timeout=120
    )
    assert bundle.status_code == 200
    mine = app.export(clip.clip_id, tmp_path / "mine.zip")
    assert bundle.content == mine.path.read_bytes()
    custody = hub.hub.accounts.custody(clip.clip_id)
    assert [e.action for e in custody] == ["export"]


def test_tiles_rebuild_the_mirrored_checkpoint(fleet: dict[str, Any]) -> None:
    hub, app = fleet["hub"], fleet["app"]
    auth = {"Authorization": f"Bearer {fleet['tokens']['auditor']}"}
    got = httpx.get(hub.url + "/tiles/station-01/checkpoint", headers=auth)
    assert got.headers["cache-control"] == "no-cache"
    text, sigs = parse(got.content)
    assert len(sigs) == 2  # the station's signature and the hub's cosignature
    cp = Checkpoint.from_text(text)
    assert cp.size == app.store.size()
    assert cp.size < 256  # one partial tile per kind
    tile = httpx.get(f"{hub.url}/tiles/station-01/tile/0/000.p/{cp.size}", headers=auth)
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    hashes = [tile.content[i : i + 32] for i in range(0, len(tile.content), 32)]
    assert merkle.root(hashes) == cp.root_hash
    same = httpx.get(f"{hub.url}/tiles/station-01/tile/8/0/000.p/{cp.size}", headers=auth)
    assert same.content == tile.content  # Go sumdb/tlog's path form
    bundle = httpx.get(f"{hub.url}/tiles/station-01/tile/entries/000.p/{cp.size}", headers=auth)
    assert bundle.status_code == 200
    assert httpx.get(f"{hub.url}/tiles/station-01/tile/0/000", headers=auth).status_code == 404
    assert httpx.get(f"{hub.url}/tiles/nobody/checkpoint", headers=auth).status_code == 404
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", base64.b64encode(cp.root_hash).decode())
