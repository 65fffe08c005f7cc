"""Every portal route over HTTP, on a real recording: what it answers and what it records."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import insert

from packseal.app import App
from storage._schema import clips as clips_table
from storage.entries import Clip, parse_as
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import (
    PASSWORD,
    Portal,
    login,
    make_portal,
    session_for,
    token_for,
)
from tests.recording import Recording
from verifier.timeline import rebase, timeline_of
from verifier.verify import verify_bundle


def as_user(client: TestClient, portal: Portal, name: str) -> str:
    cookie, csrf = session_for(portal, name)
    client.cookies.set("packseal_session", cookie)
    return csrf


def clip_bytes(portal: Portal, clip_id: str) -> bytes:
    store = portal.app.store
    row = store.clip(clip_id)
    assert row is not None
    segs = store.segments(row.first_seq, row.last_seq)
    parts = [store.read_blob(segs[0].init), *(store.read_blob(s.sha256) for s in segs)]
    # As a bundle's clip.mp4: on the clip's own timeline (verifier.timeline).
    timeline = timeline_of(parts[0], parts[1])
    return b"".join(rebase(p, timeline) for p in parts)


# -- login, logout ------------------------------------------------------------------------


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(
    client: TestClient, portal: Portal
) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "Log in" in page.text
    assert "HttpOnly" in page.headers["set-cookie"]
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/login",
        data={"name": "merchant", "password": PASSWORD, "csrf_token": token, "next": "/audit"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/audit"
    cookie = next(v for k, v in done.headers.multi_items() if v.startswith("packseal_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # loopback test server: plain HTTP
    assert client.get("/clips").status_code == 200
    csrf = client.get("/clips").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    client.cookies.clear()
    client.cookies.set("packseal_session", cookie.split(";")[0].split("=", 1)[1])
    assert client.get("/clips").status_code == 303  # the old cookie no longer works


def test_off_loopback_cookies_are_secure(recording: object, portal: Portal) -> None:
    from packseal.web import create_portal

    web = create_portal(portal.app, accounts=portal.accounts, secure_cookies=True)
    with TestClient(web, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/login", data={"name": "merchant", "password": PASSWORD, "csrf_token": token}
        )
        cookie = next(v for k, v in done.headers.multi_items() if "packseal_session=" in v)
        assert "Secure" in cookie
        assert "HttpOnly" in cookie


def test_login_failures(client: TestClient, portal: Portal, recording: object) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    wrong = client.post(
        "/login", data={"name": "merchant", "password": "not it at all", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "wrong user name or password" in wrong.text
    forged = client.post("/login", data={"name": "merchant", "password": PASSWORD})
    assert forged.status_code == 403
    assert "login form has expired" in forged.text
    client.cookies.clear()
    stranger = client.post(
        "/login", data={"name": "merchant", "password": PASSWORD, "csrf_token": token}
    )
    assert stranger.status_code == 403  # the form token without its cookie


def test_login_never_redirects_off_site(client: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/login",
            data={"name": "auditor", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/clips"


def test_failed_logins_are_rate_limited(recording: object, portal: Portal) -> None:
    fresh = make_portal(portal.app)  # its own limiter
    with TestClient(fresh.web, follow_redirects=False) as client:
        page = client.get("/login")
        codes = []
        for _ in range(11):  # each answer is a fresh form, with its own token
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            page = client.post(
                "/login", data={"name": "admin", "password": "guess" * 3, "csrf_token": token}
            )
            codes.append(page.status_code)
        assert codes[:10] == [401] * 10
        assert codes[10] == 429
        right = client.post(
            "/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token}
        )
        assert right.status_code == 429
        assert "Retry-After" in right.headers


def test_home_and_login_redirects(client: TestClient, portal: Portal) -> None:
    assert client.get("/").headers["location"] == "/clips"
    bounced = client.get("/clips?order=SO-1")
    assert bounced.status_code == 303
    assert bounced.headers["location"] == "/login?next=%2Fclips%3Forder%3DSO-1"
    login(client, "merchant")
    assert client.get("/login?next=/audit").status_code == 200


# -- search -------------------------------------------------------------------------------


def test_search_by_each_field(client: TestClient, portal: Portal) -> None:
    as_user(client, portal, "merchant")
    first, second = portal.rows[-1], portal.rows[0]
    everything = client.get("/clips")
    assert everything.status_code == 200
    assert first.order_id in everything.text
    assert second.order_id in everything.text
    by_order = client.get("/clips", params={"order": first.order_id})
    assert first.order_id in by_order.text
    assert second.order_id not in by_order.text
    by_tracking = client.get("/clips", params={"tracking": second.tracking_ids[0]})
    assert second.order_id in by_tracking.text
    assert first.order_id not in by_tracking.text
    assert second.order_id in client.get("/clips", params={"station": "station-01"}).text
    assert "No clip matches" in client.get("/clips", params={"station": "other-station"}).text
    assert second.order_id in client.get("/clips", params={"status": "sealed"}).text
    assert "No clip matches" in client.get("/clips", params={"status": "cancelled"}).text
    day = time.strftime("%Y-%m-%d", time.gmtime(first.started_ms / 1000))
    in_range = client.get("/clips", params={"since": day, "until": day})
    assert first.order_id in in_range.text
    after = client.get("/clips", params={"since": "2099-01-01"})
    assert "No clip matches" in after.text
    unknown = client.get("/clips", params={"order": "SO-0000-000000"})
    assert unknown.status_code == 200
    assert "No clip matches" in unknown.text
    assert "SO-0000-000000" in unknown.text


def test_search_pages(private_copy: App) -> None:
    portal = make_portal(private_copy)
    store = private_copy.store
    base = portal.rows[0]
    with store._engine.begin() as conn:  # index rows only: the search reads the index
        conn.execute(
            insert(clips_table),
            [
                {
                    "clip_id": f"SYNTH{i:04d}",
                    "log_id": store._log.log_id,
                    "idx": base.idx,
                    "order_id": f"SO-PAGE-{i:04d}",
                    "status": "sealed",
                    "end_reason": "next-order",
                    "station": "station-01",
                    "operator": "",
                    "started_ms": base.started_ms - 1000 * (i + 1),
                    "ended_ms": base.started_ms - 1000 * i,
                    "start_ms": base.start_ms,
                    "end_ms": base.end_ms,
                    "first_seq": base.first_seq,
                    "last_seq": base.last_seq,
                    "bytes": 1,
                    "repeat_of": None,
                }
                for i in range(30)
            ],
        )
    with TestClient(portal.web, follow_redirects=False) as client:
        as_user(client, portal, "merchant")
        one = client.get("/clips")
        assert one.text.count('class="order-link"') == 25
        assert "Older" in one.text
        two = client.get("/clips?page=2")
        assert two.text.count('class="order-link"') == 7
        assert "Newer" in two.text
        assert "Older" not in two.text
        api = client.get("/api/v1/clips?page=1").json()
        assert len(api["clips"]) == 25
        assert api["next_page"] == 2
        assert client.get("/api/v1/clips?page=2").json()["next_page"] is None


def test_order_links_lead_to_the_newest_clip(client: TestClient, portal: Portal) -> None:
    as_user(client, portal, "merchant")
    found = client.get(f"/orders/{portal.clip.order_id}")
    assert found.status_code == 303
    assert found.headers["location"] == f"/clips/{portal.clip.clip_id}"
    missing = client.get("/orders/SO-0000-000000")
    assert missing.status_code == 404
    assert "no clip of order SO-0000-000000" in missing.text


# -- the clip page and its video ----------------------------------------------------------


def test_clip_page_shows_facts_timeline_scans_and_custody(
    client: TestClient, portal: Portal
) -> None:
    as_user(client, portal, "auditor")
    row = portal.clip
    page = client.get(f"/clips/{row.clip_id}")
    assert page.status_code == 200
    text = page.text
    entry = parse_as(Clip, portal.app.store.entry(row.idx))
    assert row.order_id in text
    assert row.tracking_ids[0] in text
    assert text.count('class="seg seg-verified"') == len(entry.segments)
    for scan in entry.scans:
        assert scan.text in text
    assert text.count('class="mark mark-') == len(entry.scans)
    assert f'src="/clips/{row.clip_id}/video.mp4"' in text
    for link in ("bundle.zip", "sheet.pdf", "sheet.png", "marketplace.mp4", "marketplace.zip"):
        assert f"/clips/{row.clip_id}/{link}" in text
    custody = text.split("Chain of custody", 1)[1]
    assert "auditor" in custody
    assert "view" in custody
    assert "testclient" in custody
    # where the footage came from, from the signed entry, marked as not a live camera
    assert entry.source is not None
    assert re.search(
        r'Filmed by: <span class="source source-not-live">demo scene '
        rf'<span class="mono">{entry.source.name}</span> — synthetic footage, NOT a camera',
        text,
    )
    api = client.get(f"/api/v1/clips/{row.clip_id}").json()
    assert api["source"] == entry.source.to_json()


def test_video_serves_the_bundles_clip_with_ranges(client: TestClient, portal: Portal) -> None:
    as_user(client, portal, "merchant")
    row = portal.rows[0]
    url = f"/clips/{row.clip_id}/video.mp4"
    whole = clip_bytes(portal, row.clip_id)
    full = client.get(url)
    assert full.status_code == 200
    assert full.content == whole
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4"
    assert int(full.headers["content-length"]) == len(whole)
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206
    assert tail.content == whole[-10:]
    head = client.head(url, headers={"Range": "bytes=0-"})
    assert head.status_code == 206
    assert head.content == b""
    assert head.headers["content-length"] == str(len(whole))
    bad = client.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(whole)}"
    assert "beyond the end" in bad.text
    several = client.get(url, headers={"Range": "bytes=0-99, 1000-1099, 50-149"})
    assert several.status_code == 206  # was 416: RFC 9110 lets a client ask for several
    kind = several.headers["content-type"]
    assert kind.startswith("multipart/byteranges; boundary=")
    assert int(several.headers["content-length"]) == len(several.content)
    boundary = kind.split("boundary=", 1)[1].encode()
    parts = several.content.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n"
    bodies = [p.split(b"\r\n\r\n", 1) for p in parts[1:-1]]
    assert [h.split(b"Content-Range: ")[1] for h, _ in bodies] == [
        f"bytes 0-149/{len(whole)}".encode(),
        f"bytes 1000-1099/{len(whole)}".encode(),
    ]
    assert [b[:-2] for _, b in bodies] == [whole[0:150], whole[1000:1100]]


def test_a_playback_is_one_custody_event(client: TestClient, portal: Portal) -> None:
    as_user(client, portal, "admin")
    row = portal.rows[0]
    before = len(portal.accounts.custody(row.clip_id))
    url = f"/clips/{row.clip_id}/video.mp4"
    client.get(url, headers={"Range": "bytes=0-"})
    for start in (1000, 5000, 20000):
        client.get(url, headers={"Range": f"bytes={start}-"})
    events = portal.accounts.custody(row.clip_id)
    assert len(events) == before + 1
    assert (events[0].action, events[0].user, events[0].client_ip) == (
        "play",
        "admin",
        "testclient",
    )


def test_tampered_media_shows_on_the_timeline_and_is_not_served(private_copy: App) -> None:
    portal = make_portal(private_copy)
    row = portal.rows[0]
    segs = private_copy.store.segments(row.first_seq, row.last_seq)
    private_copy.store._blobs.path(segs[3].sha256).unlink()
    edited = private_copy.store._blobs.path(segs[5].sha256)
    edited.chmod(0o644)
    edited.write_bytes(b"not the recorded bytes")
    with TestClient(portal.web, follow_redirects=False) as client:
        as_user(client, portal, "merchant")
        page = client.get(f"/clips/{row.clip_id}").text
        assert page.count('class="seg seg-verified"') == len(segs) - 2
        assert page.count('class="seg seg-missing"') == 1
        assert page.count('class="seg seg-mismatch"') == 1
        facts = client.get(f"/api/v1/clips/{row.clip_id}").json()
        assert [s["verdict"] for s in facts["segments"]][3:6] == [
            "missing",
            "verified",
            "mismatch",
        ]
        gone = client.get(f"/clips/{row.clip_id}/video.mp4")
        assert gone.status_code == 410
        assert f"segment {segs[3].seq}" in gone.text
        assert "audit" in gone.text


# -- exports ------------------------------------------------------------------------------


def _saved(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bundle_download_verifies_and_is_recorded(
    client: TestClient, portal: Portal, tmp_path: Path
) -> None:
    as_user(client, portal, "merchant")
    row = portal.clip
    got = client.get(f"/clips/{row.clip_id}/bundle.zip")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert f'filename="{row.order_id}-{row.clip_id}.zip"' in got.headers["content-disposition"]
    verified = verify_bundle(_saved(tmp_path, "b.zip", got.content), portal.app.trust_file())
    assert verified.facts.order_id == row.order_id
    event = portal.accounts.custody(row.clip_id)[0]
    assert (event.action, event.user) == ("export-bundle", "merchant")
    assert event.detail.endswith(".zip")


def test_marketplace_exports(client: TestClient, portal: Portal, tmp_path: Path) -> None:
    as_user(client, portal, "merchant")
    row = portal.clip
    mp4 = client.get(f"/clips/{row.clip_id}/marketplace.mp4")
    assert mp4.status_code == 200
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp"
    assert len(mp4.content) <= 20_000_000
    assert mp4.content != clip_bytes(portal, row.clip_id)  # a re-encoded copy
    bundle = client.get(f"/clips/{row.clip_id}/marketplace.zip")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
        video = next(i for i in zf.infolist() if i.filename.endswith(".mp4"))
        assert video.file_size <= 20_000_000
    verify_bundle(_saved(tmp_path, "m.zip", bundle.content), portal.app.trust_file())
    actions = [e.action for e in portal.accounts.custody(row.clip_id)[:2]]
    assert actions == ["export-marketplace-bundle", "export-marketplace"]


@pytest.mark.slow
def test_sheets_are_the_real_rendered_sheet(recording: object, portal: Portal) -> None:
    real = make_portal(portal.app, real_sheet=True)
    with TestClient(real.web, follow_redirects=False) as client:
        as_user(client, real, "merchant")
        row = real.clip
        png = client.get(f"/clips/{row.clip_id}/sheet.png")
        assert png.status_code == 200
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png.content) <= 2_000_000
        pdf = client.get(f"/clips/{row.clip_id}/sheet.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
    actions = [e.action for e in real.accounts.custody(row.clip_id)[:2]]
    assert actions == ["export-sheet-pdf", "export-sheet-png"]


# -- audit --------------------------------------------------------------------------------


def _wait_for_run(client: TestClient, run_id: int) -> dict[str, object]:
    for _ in range(300):
        run: dict[str, object] = client.get(f"/api/v1/audit/runs/{run_id}").json()
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("the audit did not finish in 30 s")


def test_audit_page_runs_an_audit_with_progress(client: TestClient, portal: Portal) -> None:
    csrf = as_user(client, portal, "auditor")
    page = client.get("/audit")
    assert page.status_code == 200
    assert "Activity per station" in page.text
    assert "station-01" in page.text
    assert f"{portal.app.store.size():,}" in page.text
    refused = client.post("/audit/run")
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    started = client.post("/audit/run", data={"csrf_token": csrf})
    assert started.status_code == 303
    run_id = int(started.headers["location"].split("run=")[1])
    run = _wait_for_run(client, run_id)
    assert run["status"] == "clean", run
    assert run["done"] == run["total"]
    assert run["total"] >= portal.app.store.size()
    shown = client.get(f"/audit?run={run_id}")
    assert "No errors" in shown.text
    assert "entries" in shown.text
    assert client.get("/audit?run=999999").status_code == 404


def test_audit_of_a_tampered_store_lists_findings(private_copy: App) -> None:
    portal = make_portal(private_copy)
    row = portal.rows[0]
    segs = private_copy.store.segments(row.first_seq, row.last_seq)
    private_copy.store._blobs.path(segs[1].sha256).write_bytes(b"edited")
    with TestClient(portal.web, follow_redirects=False) as client:
        as_user(client, portal, "admin")
        token = token_for(portal, "admin")
        started = client.post("/api/v1/audit/runs", headers={"Authorization": f"Bearer {token}"})
        assert started.status_code == 202
        run = _wait_for_run(client, started.json()["id"])
        assert run["status"] == "findings"
        summary = run["summary"]
        assert isinstance(summary, dict)
        assert summary["counts"]["error"] >= 1
        page = client.get(f"/audit?run={run['id']}")
        assert "blobs" in page.text
        assert "error" in page.text
        second = client.post("/api/v1/audit/runs", headers={"Authorization": f"Bearer {token}"})
        assert second.status_code == 202  # the first one finished: a new run may start


def test_audit_runs_are_rationed_per_user(recording: Recording) -> None:
    portal = make_portal(recording.app)  # its own audit jobs: a count of its own
    portal.web.state.portal.audits.per_user = 2
    auditor = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    admin = {"Authorization": f"Bearer {token_for(portal, 'admin')}"}
    with TestClient(portal.web, follow_redirects=False) as client:
        for _ in range(2):
            started = client.post("/api/v1/audit/runs", headers=auditor)
            assert started.status_code == 202, started.text
            client.headers.update(auditor)
            _wait_for_run(client, started.json()["id"])
        third = client.post("/api/v1/audit/runs", headers=auditor)
        assert third.status_code == 429
        assert "auditor started 2 audits in the last 60 minutes" in third.json()["error"]["message"]
        assert 3500 <= int(third.headers["retry-after"]) <= 3601
        other = client.post("/api/v1/audit/runs", headers=admin)
        assert other.status_code == 202  # the ration is per user
        _wait_for_run(client, other.json()["id"])


# -- users ----------------------------------------------------------------------------------


def test_admin_manages_users(client: TestClient, portal: Portal) -> None:
    csrf = as_user(client, portal, "admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert "merchant" in page.text
    form = {"csrf_token": csrf}
    added = client.post(
        "/admin/users",
        data={**form, "name": "newbie", "role": "merchant", "password": "a long password"},
    )
    assert added.status_code == 303
    assert portal.accounts.get_user("newbie").role == "merchant"
    dup = client.post(
        "/admin/users",
        data={**form, "name": "newbie", "role": "merchant", "password": "a long password"},
    )
    assert dup.status_code == 400
    assert "already exists" in dup.text
    client.post("/admin/users/newbie", data={**form, "action": "role", "role": "auditor"})
    assert portal.accounts.get_user("newbie").role == "auditor"
    client.post("/admin/users/newbie", data={**form, "action": "disable"})
    assert not portal.accounts.get_user("newbie").active
    client.post("/admin/users/newbie", data={**form, "action": "enable"})
    assert portal.accounts.get_user("newbie").active
    client.post(
        "/admin/users/newbie",
        data={**form, "action": "password", "password": "a new long password"},
    )
    assert portal.accounts.authenticate("newbie", "a new long password").name == "newbie"
    issued = client.post("/admin/users/newbie", data={**form, "action": "token", "label": "ci"})
    assert issued.status_code == 200
    assert "Copy this API token now" in issued.text
    token = issued.text.split('class="mono token" readonly value="', 1)[1].split('"', 1)[0]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json() == {
        "user": "newbie",
        "role": "auditor",
        "via": "token",
    }
    (info,) = portal.accounts.tokens("newbie")
    revoked = client.post(
        "/admin/users/newbie", data={**form, "action": "revoke", "token_id": str(info.id)}
    )
    assert revoked.status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    short = client.post(
        "/admin/users/newbie", data={**form, "action": "password", "password": "short"}
    )
    assert short.status_code == 400
    assert "at least 10" in short.text
    assert client.post("/admin/users/nobody", data={**form, "action": "disable"}).status_code == 400


def test_the_last_admin_cannot_be_removed(recording: object, private_copy: App) -> None:
    portal = make_portal(private_copy)
    with TestClient(portal.web, follow_redirects=False) as client:
        csrf = as_user(client, portal, "admin")
        for data in ({"action": "disable"}, {"action": "role", "role": "merchant"}):
            done = client.post("/admin/users/admin", data={"csrf_token": csrf, **data})
            assert done.status_code == 409
            assert "last active admin" in done.text
        assert portal.accounts.get_user("admin").role == "admin"


# -- the JSON API ---------------------------------------------------------------------------


def test_api_with_a_token(client: TestClient, portal: Portal, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
    row = portal.clip
    assert client.get("/api/v1/me", headers=auth).json()["role"] == "merchant"
    found = client.get("/api/v1/clips", params={"order": row.order_id}, headers=auth).json()
    assert [c["clip_id"] for c in found["clips"]] == [row.clip_id]
    assert found["clips"][0]["tracking_ids"] == list(row.tracking_ids)
    order = client.get(f"/api/v1/orders/{row.order_id}", headers=auth).json()
    assert order["clips"][0]["clip_id"] == row.clip_id
    assert client.get("/api/v1/orders/SO-NOPE-1", headers=auth).status_code == 404
    facts = client.get(f"/api/v1/clips/{row.clip_id}", headers=auth).json()
    assert facts["order_id"] == row.order_id
    assert len(facts["segments"]) == row.segment_count
    assert {s["kind"] for s in facts["scans"]} >= {"order", "tracking"}
    assert facts["custody"][0] == {**facts["custody"][0], "action": "api-view", "user": "merchant"}
    assert facts["custody"][0]["detail"] == "via token"
    bundle = client.get(f"/api/v1/clips/{row.clip_id}/bundle", headers=auth)
    assert bundle.status_code == 200
    verify_bundle(_saved(tmp_path, "api.zip", bundle.content), portal.app.trust_file())
    assert client.get("/api/v1/audit", headers=auth).status_code == 403


def test_api_audit_figures(client: TestClient, portal: Portal) -> None:
    auth = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    figures = client.get("/api/v1/audit", headers=auth).json()
    assert figures["log_size"] == portal.app.store.size()
    assert figures["checkpoint"]["note"].startswith(portal.app.store.origin)
    assert figures["stations"][0]["station"] == "station-01"
    assert figures["storage"]["bytes_used"] > 0
    assert figures["storage"]["bytes_free"] > 0
    assert client.get("/api/v1/audit/runs/999999", headers=auth).status_code == 404


def test_public_routes(client: TestClient, portal: Portal) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    trust = client.get("/trust.json")
    assert trust.status_code == 200
    assert trust.content == portal.app.trust_file().to_bytes()
    css = client.get("/static/portal.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/v1/clips", "/api/v1/clips/{clip_id}", "/api/v1/clips/{clip_id}/bundle"} <= paths
    assert {"/api/v1/audit", "/api/v1/audit/runs", "/api/v1/audit/runs/{run_id}"} <= paths
    assert not any(p.startswith("/clips") for p in paths)  # pages are not API
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/clips"]["get"]["security"] == [{"bearer": []}]
    assert client.get("/docs").status_code == 404  # docs pages would need a CDN


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/login", "/healthz", "/nowhere", "/static/portal.css"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
