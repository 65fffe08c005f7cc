"""A clip filmed by two cameras in the portal: each view plays on its own, side by side.

The store is the session's demo recording sealed again as a two-camera station
(tests/twoview.py): real footage, every segment naming its view, segment numbers
interleaved station-wide, each clip entry binding both views under one signature.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from packseal.web import ServerThread
from packseal.web._media import clip_media
from storage import Store
from storage.entries import Clip, parse_as
from tests.chromium import ARTIFACTS, launch
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import PASSWORD, Portal, login, make_portal
from tests.recording import Recording
from tests.twoview import PRIMARY, SIDE, two_view_store
from verifier.timeline import rebase, timeline_of


@pytest.fixture(scope="module")
def two(recording: Recording, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    root = tmp_path_factory.mktemp("two-views")
    app = two_view_store(recording, root / "data", root / "work")
    yield make_portal(app)
    app.close()


@pytest.fixture
def client(two: Portal) -> Iterator[TestClient]:
    with TestClient(two.web, follow_redirects=False) as c:
        login(c, "merchant")
        yield c


def expected_file(store: Store, init: str, segments: list[str]) -> bytes:
    """The sealed parts in order, moved onto the clip's own timeline (as a bundle's)."""
    parts = [store.read_blob(sha) for sha in (init, *segments)]
    timeline = timeline_of(parts[0], parts[1])
    return b"".join(rebase(p, timeline) for p in parts)


def test_each_view_plays_its_own_sealed_footage(two: Portal, client: TestClient) -> None:
    row = two.rows[0]
    assert row.views == (PRIMARY, SIDE)
    entry = parse_as(Clip, two.app.store.entry(row.idx))
    served = {}
    for view, query in ((PRIMARY, ""), (PRIMARY, f"?view={PRIMARY}"), (SIDE, f"?view={SIDE}")):
        r = client.get(f"/clips/{row.clip_id}/video.mp4{query}")
        assert r.status_code == 200, r.text
        part = next(v for v in entry.all_views() if v.view == view)
        # Only that view's segments, in the entry's order, never the other's (the
        # segment numbers of both views interleave in the index).
        wanted = expected_file(two.app.store, part.init, [s.sha256 for s in part.segments])
        assert r.content == wanted
        served[query] = r
    assert served[""].content == served[f"?view={PRIMARY}"].content
    assert served[""].content != served[f"?view={SIDE}"].content
    # One view's ETag is not another's (the first keeps the tag it always had).
    assert served[""].headers["etag"] == f'"{row.clip_id}-{row.idx}-t0"'
    assert served[f"?view={SIDE}"].headers["etag"] == f'"{row.clip_id}-{row.idx}-t0-{SIDE}"'
    # Ranges as for one view; the same bytes the portal's media code gives.
    side = served[f"?view={SIDE}"].content
    r = client.get(f"/clips/{row.clip_id}/video.mp4?view={SIDE}", headers={"Range": "bytes=100-"})
    assert r.status_code == 206
    assert r.content == side[100:]
    media = clip_media(two.app.store, row, SIDE)
    assert b"".join(media.read(0, media.size - 1)) == side
    custody = two.accounts.custody(row.clip_id, limit=20)
    assert any(e.action == "play" and e.detail == f"view {SIDE}" for e in custody)


def test_unknown_or_malformed_views_are_refused(two: Portal, client: TestClient) -> None:
    row = two.rows[0]
    r = client.get(f"/clips/{row.clip_id}/video.mp4?view=front")
    assert r.status_code == 404
    assert "has no view 'front' (it has top, side)" in html.unescape(r.text)
    assert client.get(f"/clips/{row.clip_id}/video.mp4?view=..%2Fx").status_code == 422
    assert client.get(f"/clips/{row.clip_id}/video.mp4?view={'a' * 17}").status_code == 422


def test_clip_page_list_and_api_show_both_views(two: Portal, client: TestClient) -> None:
    row = two.rows[0]
    page = client.get(f"/clips/{row.clip_id}").text
    assert 'id="player" class="view-player"' in page
    assert f'id="player-{SIDE}" class="view-player"' in page
    assert f'src="/clips/{row.clip_id}/video.mp4?view={SIDE}"' in page
    assert 'aria-label="camera view side"' in page
    assert "Filmed by 2 cameras:" in page
    assert 'id="views-play"' in page
    listing = client.get("/clips").text
    assert listing.count('class="badge badge-views"') == len(two.rows)
    assert ">2 views<" in listing
    facts = client.get(f"/api/v1/clips/{row.clip_id}").json()
    assert [v["view"] for v in facts["views"]] == [PRIMARY, SIDE]
    assert facts["views"][1]["video"] == f"/clips/{row.clip_id}/video.mp4?view={SIDE}"
    assert {s["verdict"] for v in facts["views"] for s in v["segments"]} == {"verified"}
    assert facts["view_segments"] == {v["view"]: len(v["segments"]) for v in facts["views"]}
    assert client.get("/api/v1/clips").json()["clips"][0]["views"] == [PRIMARY, SIDE]


def test_a_one_camera_clip_has_no_views(portal: Portal, tmp_path: Path) -> None:
    with TestClient(portal.web, follow_redirects=False) as c:
        login(c, "merchant")
        row = portal.clip
        assert row.views == ()
        assert c.get(f"/clips/{row.clip_id}/video.mp4?view=top").status_code == 404
        page = c.get(f"/clips/{row.clip_id}").text
        assert "view-player" not in page
        assert c.get(f"/api/v1/clips/{row.clip_id}").json()["views"] == []


SHOTS = Path("/work/notes/shots")


@pytest.mark.browser
@pytest.mark.slow
def test_the_views_play_side_by_side_in_step(two: Portal) -> None:
    row = two.rows[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch(ARTIFACTS) as browser, ServerThread(two.web, "127.0.0.1", 0) as server:
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.url}/login?next=/clips/{row.clip_id}")
        page.fill("input[name=name]", "merchant")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("video.view-player")).to_have_count(2)
        top, side = page.locator("video#player"), page.locator(f"video#player-{SIDE}")
        a, b = top.bounding_box(), side.bounding_box()
        assert a is not None
        assert b is not None
        assert abs(a["y"] - b["y"]) < 2
        assert b["x"] > a["x"] + a["width"] - 4
        # From the keyboard: the one button plays both (muted: no autoplay refusal).
        page.evaluate("document.querySelectorAll('video').forEach(v => { v.muted = true; })")
        page.focus("#views-play")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => [...document.querySelectorAll('video.view-player')]"
            ".every(v => !v.paused && v.readyState >= 2 && v.currentTime > 1)",
            timeout=30_000,
        )
        expect(page.locator("#views-play")).to_have_text("Pause all views")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => [...document.querySelectorAll('video.view-player')].every(v => v.paused)"
        )
        # Seeking one moves the other to the same capture time.
        page.evaluate(f"document.getElementById('player-{SIDE}').currentTime = 9")
        page.wait_for_function(
            "() => Math.abs(document.getElementById('player').currentTime - 9) < 0.35",
            timeout=10_000,
        )
        state = page.evaluate(
            "[...document.querySelectorAll('video.view-player')]"
            ".map(v => ({w: v.videoWidth, err: v.error && v.error.code, d: v.duration}))"
        )
        assert [s["err"] for s in state] == [None, None]
        assert [s["w"] for s in state] == [640, 640]
        for s in state:
            assert s["d"] == pytest.approx(row.duration_ms / 1000, abs=0.1)
        page.screenshot(path=SHOTS / "portal-two-views.png", full_page=False)
        # A phone: the views stack, each as wide as the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        a, b = top.bounding_box(), side.bounding_box()
        assert a is not None
        assert b is not None
        assert b["y"] >= a["y"] + a["height"] - 2
        assert abs(a["x"] - b["x"]) < 2
        page.screenshot(path=SHOTS / "portal-two-views-narrow.png", full_page=True)
        page.goto(f"{server.url}/clips")
        expect(page.locator(".badge-views").first).to_have_text("2 views")
        context.close()
        assert not errors, errors
