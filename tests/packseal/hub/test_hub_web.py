"""The hub's faces: the authorization matrix over its own routes, the fleet, search
across stations, play, export, and tlog-tiles that rebuild the signed root."""

from __future__ import annotations

import base64
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from packseal.config import HubLinkConfig
from packseal.hub.pusher import Pusher
from packseal.web._media import clip_media
from recorder.clock import SystemClock
from storage import merkle
from storage.checkpoint import Checkpoint
from storage.note import parse
from tests.packseal.hub.conftest import copy_recorded, station_app
from tests.twoview import seal_two_views
from verifier.verify import verify_bundle

PUBLIC = "public"
STATION = "station"
R = {"merchant", "auditor", "admin"}
ADM = {"admin"}

# Every route of the hub's portal: who may, and what an allowed caller gets. The portal's
# own rows (login, users) hold as on a station (tests/packseal/web/test_matrix.py).
MATRIX: dict[tuple[str, str], tuple[set[str], set[int]]] = {
    ("POST", "/hub/v1/push"): ({STATION}, {422}),  # an empty push: a clean refusal
    ("POST", "/hub/v1/anchors"): ({STATION}, {422}),  # an empty body: a clean refusal
    ("POST", "/add-checkpoint"): ({PUBLIC}, {400}),  # tlog-witness: no token; empty body
    ("GET", "/hub/v1/size"): ({STATION}, {200}),
    ("PUT", "/hub/v1/blobs/{sha256}"): ({STATION}, {404}),  # no pushed entry names it
    ("HEAD", "/hub/v1/blobs/{sha256}"): ({STATION}, {404}),
    ("GET", "/hub"): (R, {200}),
    ("GET", "/api/v1/hub/fleet"): (R, {200}),
    ("GET", "/hub/search"): (R, {200}),
    ("GET", "/api/v1/hub/clips"): (R, {200}),
    ("GET", "/hub/clips/{station}/{clip_id}/video.mp4"): (R, {200}),
    ("HEAD", "/hub/clips/{station}/{clip_id}/video.mp4"): (R, {200}),
    ("GET", "/hub/clips/{station}/{clip_id}/bundle.zip"): (R, {200}),
    ("GET", "/tiles/{station}/checkpoint"): (R, {200}),
    ("GET", "/tiles/{station}/tile/{path:path}"): (R, {200}),
    ("GET", "/"): ({PUBLIC}, {303}),
    ("GET", "/login"): ({PUBLIC}, {200}),
    ("POST", "/login"): ({PUBLIC}, {422}),  # empty form
    ("POST", "/logout"): (R, {303}),
    ("GET", "/admin/users"): (ADM, {200}),
    ("POST", "/admin/users"): (ADM, {400}),  # empty form
    ("POST", "/admin/users/{name}"): (ADM, {400}),
    ("GET", "/healthz"): ({PUBLIC}, {200}),
    ("GET", "/verify"): ({PUBLIC}, {200}),
    ("GET", "/openapi.json"): ({PUBLIC}, {200}),
    ("HEAD", "/openapi.json"): ({PUBLIC}, {200}),
    ("GET", "/static"): ({PUBLIC}, {200}),
}
CALLERS = (
    "anonymous",
    "merchant",
    "auditor",
    "admin",
    "merchant-token",
    "auditor-token",
    "admin-token",
    "wrong-token",
    "station-token",
)


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
    now = SystemClock().now_ms()
    for role in ("merchant", "auditor", "admin"):
        hub.hub.accounts.add_user(role, role, "x" * 20, at_ms=now)  # type: ignore[arg-type]
        tokens[role] = hub.hub.accounts.issue_token(role, label="t", at_ms=now)
    clip = app.store.clips()[0]
    yield {"hub": hub, "app": app, "tokens": tokens, "clip": clip}
    app.close()


def _url(path: str, fleet: dict[str, Any]) -> str:
    clip = fleet["clip"]
    return (
        path.replace("{sha256}", "a" * 64)
        .replace("{station}", "station-01")
        .replace("{clip_id}", clip.clip_id)
        .replace("{path:path}", f"0/000.p/{fleet['app'].store.size()}")
        .replace("{name}", "merchant")
        .replace("/static", "/static/portal.css")
    )


def _session(hub: Any, name: str) -> tuple[str, str]:
    user = hub.hub.accounts.get_user(name)
    cookie, session = hub.hub.accounts.create_session(
        user, at_ms=SystemClock().now_ms(), ttl_ms=3_600_000, client_ip="test"
    )
    return cookie, session.csrf


def test_every_hub_route_is_in_the_matrix_and_enforced(fleet: dict[str, Any]) -> None:
    hub = fleet["hub"]
    web = hub.server.server.config.app
    routes = {(m, r.path) for r in iter_route_contexts(web.routes) for m in (r.methods or {"GET"})}
    assert routes == set(MATRIX), (
        f"routes without a row: {sorted(routes - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - routes)}"
    )
    tokens = fleet["tokens"]
    with httpx.Client(base_url=hub.url, timeout=120, follow_redirects=False) as client:
        for (method, path), (allowed, ok) in sorted(MATRIX.items()):
            url = _url(path, fleet)
            for caller in CALLERS:
                client.cookies.clear()
                headers: dict[str, str] = {}
                role = None
                if caller == "wrong-token":
                    headers["Authorization"] = "Bearer pst_not-a-token-of-this-hub"
                elif caller == "station-token":
                    role = STATION
                    headers["Authorization"] = f"Bearer {tokens['station']}"
                elif caller.endswith("-token"):
                    role = caller.removesuffix("-token")
                    headers["Authorization"] = f"Bearer {tokens[role]}"
                elif caller != "anonymous":
                    role = caller
                    cookie, csrf = _session(hub, caller)
                    client.cookies.set("packseal_session", cookie)
                    headers["X-CSRF-Token"] = csrf
                got = client.request(method, url, headers=headers)
                where = f"{caller} {method} {url}: {got.status_code} {got.text[:200]}"
                if PUBLIC in allowed or role in allowed:
                    assert got.status_code in ok, where
                elif STATION in allowed:  # the push API: only an enrolled station's token
                    assert got.status_code in (401, 403), where
                elif role is None and "Authorization" not in headers:
                    if path.startswith(("/api/", "/tiles/")):
                        assert got.status_code == 401, where
                    else:  # people are sent to the portal's login form
                        assert got.status_code == 303, where
                        assert got.headers["location"].startswith("/login?next="), where
                elif role in (None, STATION):  # a bearer that is no portal token
                    assert got.status_code == 401, where
                else:
                    assert got.status_code == 403, where
        # a session's POST without its CSRF token is refused, on the hub as on a station
        for method, path in [k for k, (a, _) in MATRIX.items() if k[0] == "POST" and R & a]:
            client.cookies.clear()
            client.cookies.set("packseal_session", _session(hub, "admin")[0])
            got = client.request(method, _url(path, fleet))
            assert got.status_code == 403, (path, got.text[:200])
            assert "CSRF" in got.text


def test_people_sign_in_with_the_portals_login_form(fleet: dict[str, Any]) -> None:
    hub = fleet["hub"]
    with httpx.Client(base_url=hub.url, timeout=60, follow_redirects=False) as client:
        assert client.get("/hub").headers["location"] == "/login?next=%2Fhub"
        form = client.get("/login?next=/hub")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        bad = client.post(
            "/login",
            data={"name": "merchant", "password": "wrong", "csrf_token": csrf[1], "next": "/hub"},
        )
        assert bad.status_code == 401
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', bad.text)
        assert csrf is not None
        good = client.post(
            "/login",
            data={"name": "merchant", "password": "x" * 20, "csrf_token": csrf[1], "next": "/hub"},
        )
        assert (good.status_code, good.headers["location"]) == (303, "/hub")
        fleet_page = client.get("/hub")
        assert fleet_page.status_code == 200
        assert "station-01" in fleet_page.text
        assert 'href="/hub/search"' in fleet_page.text
        assert client.get("/").headers["location"] == "/hub"
    events = [e.action for e in hub.hub.accounts.custody(limit=10)]
    assert "login" in events


def test_fleet_search_play_and_export(fleet: dict[str, Any], tmp_path: Path) -> None:
    hub, app, clip = fleet["hub"], fleet["app"], fleet["clip"]
    auth = {"Authorization": f"Bearer {fleet['tokens']['merchant']}"}
    doc = httpx.get(hub.url + "/api/v1/hub/fleet", headers=auth).json()
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
        hub.url + "/api/v1/hub/clips", params={"order": clip.order_id}, headers=auth
    ).json()["clips"]
    assert [c["clip_id"] for c in found] == [clip.clip_id]
    day = __import__("datetime").datetime.fromtimestamp(clip.started_ms / 1000).date()
    by_station = httpx.get(
        hub.url + "/api/v1/hub/clips",
        params={"station": "station-01", "date": day.isoformat()},
        headers=auth,
    ).json()["clips"]
    assert clip.clip_id in {c["clip_id"] for c in by_station}
    if clip.tracking_ids:
        t = httpx.get(
            hub.url + "/api/v1/hub/clips", params={"tracking": clip.tracking_ids[0]}, headers=auth
        ).json()["clips"]
        assert clip.clip_id in {c["clip_id"] for c in t}
    video = httpx.get(f"{hub.url}/hub/clips/station-01/{clip.clip_id}/video.mp4", headers=auth)
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    # the bytes a station's portal plays for the clip (its own timeline), and ranges
    media = clip_media(app.store, clip)
    assert video.content == b"".join(media.read(0, media.size - 1))
    part = httpx.get(
        f"{hub.url}/hub/clips/station-01/{clip.clip_id}/video.mp4",
        headers={**auth, "Range": "bytes=100-199"},
    )
    assert part.status_code == 206
    assert part.content == video.content[100:200]
    bundle = httpx.get(
        f"{hub.url}/hub/clips/station-01/{clip.clip_id}/bundle.zip", headers=auth, timeout=120
    )
    assert bundle.status_code == 200
    mine = app.export(clip.clip_id, tmp_path / "mine.zip")
    assert bundle.content == mine.path.read_bytes()
    custody = hub.hub.accounts.custody(clip.clip_id)
    assert sorted(e.action for e in custody) == ["export", "play"]


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


def test_a_two_camera_station_is_mirrored_and_each_view_played(
    recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    """Issue 12: the hub takes a two-camera station's entries (views interleaved) and both
    views' blobs, lists the clip with its views, and plays each view's bytes exactly as
    the station's portal does."""
    data, root = copy_recorded(recorded, tmp_path / "src")
    source = station_app(data, root, "station-01")
    hub = start_hub(root)
    token = hub.hub.mirror.enrol("station-02", 0).token
    app = seal_two_views(
        source.store, station_app(tmp_path / "two", root, "station-02"), tmp_path / "work"
    )
    source.close()
    pusher = Pusher(app.store, HubLinkConfig(url=hub.url, token=token), token, SystemClock())
    assert pusher.cycle().done
    pusher.close()
    now = SystemClock().now_ms()
    hub.hub.accounts.add_user("merchant", "merchant", "x" * 20, at_ms=now)  # type: ignore[arg-type]
    auth = {
        "Authorization": f"Bearer {hub.hub.accounts.issue_token('merchant', label='t', at_ms=now)}"
    }
    for row in app.store.clips():
        found = httpx.get(
            hub.url + "/api/v1/hub/clips", params={"order": row.order_id}, headers=auth
        ).json()["clips"]
        assert [(c["clip_id"], c["views"]) for c in found] == [(row.clip_id, ["top", "side"])]
        for view in ("top", "side"):
            url = f"{hub.url}/hub/clips/station-02/{row.clip_id}/video.mp4?view={view}"
            video = httpx.get(url, headers=auth)
            assert video.status_code == 200, video.text
            media = clip_media(app.store, row, view)
            assert video.content == b"".join(media.read(0, media.size - 1))
        assert httpx.get(url.replace("view=side", "view=front"), headers=auth).status_code == 404
    page = httpx.get(hub.url + "/hub/search", params={"station": "station-02"}, headers=auth)
    assert page.text.count(">2 views<") == len(app.store.clips())
    assert "video.mp4?view=side" in page.text
    # The hub's export of a two-view clip is the station's, byte for byte, and verifies.
    row = app.store.clips()[0]
    bundle = httpx.get(
        f"{hub.url}/hub/clips/station-02/{row.clip_id}/bundle.zip", headers=auth, timeout=120
    )
    assert bundle.status_code == 200, bundle.text
    mine = app.export(row.clip_id, tmp_path / "mine.zip")
    assert bundle.content == mine.path.read_bytes()
    with zipfile.ZipFile(mine.path) as z:
        assert "clip.side.mp4" in z.namelist()
    assert verify_bundle(mine.path, app.trust_file()).facts.views[1].view == "side"
    app.close()
