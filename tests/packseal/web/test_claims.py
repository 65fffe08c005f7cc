"""Claim checks from the clip page, over a real server: the report of an honest photo,
hostile uploads refused before decoding with the portal's error body, and a claim
reachable only under its own clip."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from packseal.web import ServerThread
from packseal.web._context import ClaimRuns
from packseal.web._http import WebError
from packseal.web.shares import Shares
from storage.facts import rfc3339
from tests.packseal.web.conftest import Portal, honest_photo, session_for, token_for
from tests.verifier.claim.hostile import HOSTILE
from verifier._errors import NotVerified
from verifier.claim import MAX_BYTES

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def server(portal: Portal) -> Iterator[str]:
    with ServerThread(portal.web, "127.0.0.1", 0) as s:
        yield s.url


def test_an_honest_photo_gives_a_report(portal: Portal, claimed: str, server: str) -> None:
    clip = portal.clip
    base = f"{server}/clips/{clip.clip_id}/claims/{claimed}"
    auth = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    page = httpx.get(base, headers=auth)
    assert page.status_code == 200
    assert "buyer-1.jpg" in page.text
    assert "No region differs from the sealed footage in the part compared" in page.text
    assert f'src="/clips/{clip.clip_id}/claims/{claimed}/claim.png"' in page.text
    doc = httpx.get(f"{base}/claim.json", headers=auth).json()
    assert (doc["format"], doc["clip_id"], doc["order_id"]) == (
        "packseal-claim/v1",
        clip.clip_id,
        clip.order_id,
    )
    [photo] = doc["photos"]
    assert photo["footage"]["outcome"] == "no-difference"
    assert photo["footage"]["reference"]["clip_id"] == clip.clip_id
    # The packer's hand hides a corner of the card in the reference; another frame,
    # named on the page like the reference, compared it.
    also = photo["footage"]["also_compared"]
    assert also
    ref = also[0]["reference"]
    assert ref["clip_id"] == clip.clip_id
    line = (
        f"{round(100 * also[0]['compared_fraction'])} % of the product, which that frame "
        f"hides, compared with segment {ref['segment']}/{ref['segments']}, frame {ref['frame']}"
    )
    assert line in page.text
    assert httpx.get(f"{base}/claim.png", headers=auth).content.startswith(b"\x89PNG")
    assert httpx.get(f"{base}/claim-1.png", headers=auth).content.startswith(b"\x89PNG")
    pdf = httpx.get(f"{base}/claim.pdf", headers=auth)
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    zh = httpx.get(base, headers={**auth, "Accept-Language": "zh-CN"})
    assert "没有与封存视频不同的区域。" in zh.text
    assert f"的商品部分被该画面遮住，改为对照分段 {ref['segment']}/{ref['segments']}" in zh.text
    clip_page = httpx.get(f"{server}/clips/{clip.clip_id}", headers=auth)
    assert f'href="/clips/{clip.clip_id}/claims/{claimed}"' in clip_page.text
    events = portal.accounts.custody(clip.clip_id, limit=200)
    checks = [e for e in events if e.action == "claim-check"]
    assert any(e.user == "merchant" and claimed in e.detail for e in checks)
    assert any(e.action == "export-claim" and e.user == "auditor" for e in events)


def _upload(portal: Portal, server: str, files: Files) -> httpx.Response:
    cookie, csrf = session_for(portal, "merchant")
    return httpx.post(
        f"{server}/clips/{portal.clip.clip_id}/claim",
        data={"csrf_token": csrf},
        files=files,
        cookies={"packseal_session": cookie},
        headers=JSON,
        timeout=60,
    )


def _case(name: str) -> bytes:
    return next(h for h in HOSTILE if h.name == name).make()


Files = list[tuple[str, tuple[str, bytes, str]]]


def _one(name: str, data: bytes, kind: str = "image/jpeg") -> Files:
    return [("photos", (name, data, kind))]


# name -> (the form's files, the status, words of the message): each refused before the
# footage is touched, in the portal's error body
UPLOADS = {
    "nothing": (lambda: [], 422, "no claim photo"),
    "pdf-named-jpeg": (lambda: _one("c.jpg", b"%PDF-1.7\n%..."), 415, "not a JPEG"),
    "zip-polyglot": (lambda: _one("x.jpg", _case("zip-jpeg-polyglot")), 415, "not a JPEG"),
    "bomb": (lambda: _one("b.png", _case("decompression-bomb-png")), 422, "decompression bomb"),
    "truncated": (lambda: _one("t.png", _case("truncated-png")), 422, "truncated"),
    "oversized": (lambda: _one("big.jpg", b"\xff\xd8\xff" + bytes(MAX_BYTES)), 413, "at most"),
    "too-many": (
        lambda: [p for n in range(9) for p in _one(f"{n}.jpg", b"\xff\xd8\xff")],
        422,
        "at most 8",
    ),
    "listing-bomb": (
        lambda: [
            *_one("ok.jpg", honest_photo()),
            ("listing", ("l.png", _case("decompression-bomb-png"), "image/png")),
        ],
        422,
        "decompression bomb",
    ),
}


@pytest.mark.parametrize("what", sorted(UPLOADS))
def test_hostile_uploads_are_refused_cleanly(portal: Portal, server: str, what: str) -> None:
    files, status, said = UPLOADS[what]
    before = len(portal.accounts.custody(portal.clip.clip_id, limit=1000))
    got = _upload(portal, server, files())
    assert got.status_code == status, got.text[:300]
    body = got.json()["error"]
    assert body["status"] == status
    assert said in body["message"]
    assert body["hint"]
    after = portal.accounts.custody(portal.clip.clip_id, limit=1000)
    assert not any(e.action == "claim-check" for e in after[: len(after) - before])


def test_a_claim_is_reached_only_under_its_own_clip(
    portal: Portal, claimed: str, server: str
) -> None:
    clip, other = portal.clip, portal.rows[0]
    assert other.clip_id != clip.clip_id
    auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
    for path in (
        f"/clips/{other.clip_id}/claims/{claimed}",
        f"/clips/{other.clip_id}/claims/{claimed}/claim.json",
        f"/clips/{clip.clip_id}/claims/{claimed[:-1]}{'1' if claimed[-1] == '0' else '0'}",
        f"/clips/{clip.clip_id}/claims/{claimed}/photo-1",  # kept, not served
        f"/clips/{clip.clip_id}/claims/{claimed}/..%2Fclaim.json",
        f"/clips/{clip.clip_id}/claims/..%2F..%2Fkeys/claim.json",
    ):
        assert httpx.get(server + path, headers=auth).status_code == 404, path
    # A share link's secret and a made-up token are no credentials here.
    secret, _ = Shares(portal.accounts.engine).create(
        clip.clip_id, clip.order_id, by="test", at_ms=portal.app.clock.now_ms(), days=1
    )
    for headers in (
        {"Authorization": f"Bearer {secret}"},
        {"Cookie": f"packseal_session={secret}"},
        {"Authorization": "Bearer station-token-of-another-face"},
    ):
        for path in (
            f"/clips/{clip.clip_id}/claims/{claimed}",
            f"/clips/{clip.clip_id}/claims/{claimed}/claim.pdf",
        ):
            assert httpx.get(server + path, headers=headers).status_code in (303, 401)
        posted = httpx.post(
            f"{server}/clips/{clip.clip_id}/claim",
            headers=headers,
            files=[("photos", ("x.jpg", b"\xff\xd8\xff", "image/jpeg"))],
        )
        assert posted.status_code in (303, 401), posted.status_code
    assert json.loads(httpx.get(f"{server}/healthz").text) == {"status": "ok"}


def test_claim_checks_are_rationed_per_user() -> None:
    runs = ClaimRuns(per_user=2, window_ms=60_000)
    runs.admit("merchant", 0)
    runs.admit("merchant", 1_000)
    with pytest.raises(WebError) as refused:
        runs.admit("merchant", 30_000)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "31"
    runs.admit("auditor", 30_000)  # per user
    runs.admit("merchant", 60_000)  # the first has left the window


def test_the_larger_body_limit_is_the_claim_form_s_only(portal: Portal, server: str) -> None:
    cookie, csrf = session_for(portal, "merchant")
    two_mb = bytes(2 << 20)
    for path, status, said in (
        (f"/clips/{portal.clip.clip_id}/share", 413, "the request body is larger than"),
        (f"/clips/{portal.clip.clip_id}/claim", 415, "not a JPEG, PNG or WebP"),
    ):
        got = httpx.post(
            server + path,
            data={"csrf_token": csrf},
            files=[("photos", ("x.jpg", two_mb, "image/jpeg"))],
            cookies={"packseal_session": cookie},
            headers=JSON,
        )
        assert got.status_code == status, (path, got.text[:200])
        assert said in got.json()["error"]["message"]


def test_a_running_check_leaves_the_portal_serving(portal: Portal, server: str) -> None:
    """The check runs in a worker thread: while one waits for its turn (the test holds the
    one-at-a-time lock, so nothing depends on how fast the machine is), pages answer."""
    import threading
    import time

    runs: ClaimRuns = portal.web.state.portal.claims
    admitted = len(runs._started.get("merchant", ()))
    got: list[httpx.Response] = []
    upload = threading.Thread(
        target=lambda: got.append(_upload(portal, server, _one("b.jpg", honest_photo())))
    )
    with runs.running:
        upload.start()
        deadline = time.monotonic() + 120
        while len(runs._started.get("merchant", ())) == admitted:  # read, limits passed
            assert time.monotonic() < deadline, "the upload never reached the check"
            time.sleep(0.05)
        auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
        for _ in range(3):
            page = httpx.get(f"{server}/clips/{portal.clip.clip_id}", headers=auth, timeout=30)
            assert page.status_code == 200
        assert not got  # still waiting for the lock this test holds
    upload.join(180)
    assert got
    assert got[0].status_code == 303, got[0].text[:300]


def test_old_buyer_photos_are_deleted_and_the_report_page_says_so(
    portal: Portal, claimed: str, server: str
) -> None:
    """claims.keep_photos_days: the portal deletes the originals (custody-logged), keeps
    the report, and the report page says what went and what remains."""
    from packseal.web import _claims

    clip = portal.clip
    ctx = portal.web.state.portal
    kept = _claims.claims_dir(ctx, clip.clip_id)
    old_id = "0" * 15 + "d"
    old = kept / old_id
    shutil.copytree(kept / claimed, old)
    doc = json.loads((old / "claim.json").read_text())
    doc["checked_at"] = rfc3339(portal.app.clock.now_ms() - 31 * 86_400_000)
    (old / "claim.json").write_text(json.dumps(doc))
    try:
        _claims.retain_photos(ctx)
        assert not (old / "photo-1").exists()
        assert (kept / claimed / "photo-1").exists()  # checked just now: kept
        auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
        page = httpx.get(f"{server}/clips/{clip.clip_id}/claims/{old_id}", headers=auth)
        assert page.status_code == 200
        assert "The buyer&#39;s original photos were deleted on" in page.text
        assert "(claims.keep_photos_days = 30)" in page.text
        assert "What remains is this report" in page.text
        assert (
            httpx.get(f"{server}/clips/{clip.clip_id}/claims/{claimed}", headers=auth).text.count(
                "photos-deleted"
            )
            == 0
        )
        zh = httpx.get(
            f"{server}/clips/{clip.clip_id}/claims/{old_id}",
            headers={**auth, "Accept-Language": "zh-CN"},
        )
        assert "买家原始照片已删除于" in zh.text
        events = portal.accounts.custody(clip.clip_id, limit=1000)
        assert any(
            e.action == "claim-photos-deleted" and old_id in e.detail and e.user == "retention"
            for e in events
        )
    finally:
        shutil.rmtree(old, ignore_errors=True)


def test_the_page_says_why_another_frame_was_compared(
    portal: Portal, claimed: str, server: str
) -> None:
    """A frame compared where the reference shows something over the product (the
    packer's fingers mid grip, "why": "moved") is named for that reason, not as hiding
    part of it; a report kept before "why" existed reads as before."""
    from packseal.web import _claims

    clip = portal.clip
    kept = _claims.claims_dir(portal.web.state.portal, clip.clip_id)
    other_id = "0" * 15 + "e"
    other = kept / other_id
    shutil.copytree(kept / claimed, other)
    doc = json.loads((other / "claim.json").read_text())
    also = doc["photos"][0]["footage"]["also_compared"]
    assert also
    also[0]["why"] = "moved"
    (other / "claim.json").write_text(json.dumps(doc))
    old = json.loads((kept / claimed / "claim.json").read_text())
    for v in old["photos"][0]["footage"]["also_compared"]:
        assert v.pop("why") == "hidden"
    (other.parent / (other_id[:-1] + "f")).mkdir()
    (other.parent / (other_id[:-1] + "f") / "claim.json").write_text(json.dumps(old))
    try:
        auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
        url = f"{server}/clips/{clip.clip_id}/claims"
        page = httpx.get(f"{url}/{other_id}", headers=auth).text
        assert "of the product, where that frame shows something over it that the photo" in page
        assert "which that frame hides" not in page
        zh = httpx.get(f"{url}/{other_id}", headers={**auth, "Accept-Language": "zh-CN"}).text
        assert "该画面在其上有照片中没有的东西" in zh
        before = httpx.get(f"{url}/{other_id[:-1]}f", headers=auth).text
        assert "of the product, which that frame hides, compared with segment" in before
    finally:
        shutil.rmtree(other, ignore_errors=True)
        shutil.rmtree(other.parent / (other_id[:-1] + "f"), ignore_errors=True)


def test_a_bundle_carries_a_kept_claim_report_when_asked(
    portal: Portal, claimed: str, server: str, tmp_path: Path
) -> None:
    """The clip page offers the clip's claim checks for its bundle; ?claim=ID adds that
    report (claim/), never the buyer's photos; verify checks what it cites."""
    from verifier import verify_bundle

    clip, other = portal.clip, portal.rows[0]
    auth = {"Authorization": f"Bearer {token_for(portal, 'merchant')}"}
    page = httpx.get(f"{server}/clips/{clip.clip_id}", headers=auth).text
    assert 'id="claim-export"' in page
    assert f'<option value="{claimed}">' in page
    got = httpx.get(f"{server}/clips/{clip.clip_id}/bundle.zip?claim={claimed}", headers=auth)
    assert got.status_code == 200, got.text
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(got.content)
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    assert [n for n in names if n.startswith("claim/")] == [
        "claim/claim.json",
        "claim/claim.png",
        "claim/claim.pdf",
        "claim/claim-1.png",
    ]
    assert not [n for n in names if "photo" in n or "listing" in n]
    try:
        report = verify_bundle(bundle, portal.app.trust_file()).report
    except NotVerified as e:
        report = e.report
    assert report.check("claim").ok is True
    assert report.check("claim").message.startswith("included; a report, not evidence by itself")
    events = portal.accounts.custody(clip.clip_id, limit=50)
    assert any(
        e.action == "export-bundle" and f"with claim report {claimed} via token" in e.detail
        for e in events
    )
    # only a check kept for this clip; an id that is not one is refused by its shape
    assert (
        httpx.get(
            f"{server}/clips/{other.clip_id}/bundle.zip?claim={claimed}", headers=auth
        ).status_code
        == 404
    )
    assert (
        httpx.get(
            f"{server}/clips/{clip.clip_id}/marketplace.zip?claim=..%2Fx", headers=auth
        ).status_code
        == 422
    )
    assert "claim-export" not in httpx.get(f"{server}/clips/{other.clip_id}", headers=auth).text


def test_the_api_checks_a_claim_with_the_same_limits(portal: Portal, server: str) -> None:
    """POST /api/v1/clips/{clip}/claims: the report as JSON, its files, the list; the
    page's limits and error bodies; custody as from the page."""
    clip = portal.clip
    auth = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    api = f"{server}/api/v1/clips/{clip.clip_id}/claims"
    for name in ("nothing", "pdf-named-jpeg", "bomb", "too-many", "oversized"):
        files, status, words = UPLOADS[name]
        got = httpx.post(api, headers=auth, files=files(), timeout=60)
        assert got.status_code == status, (name, got.text[:300])
        body = got.json()["error"]
        assert words in body["message"], (name, body)
        assert body["hint"]
    made = httpx.post(api, headers=auth, files=_one("buyer.jpg", honest_photo()), timeout=120)
    assert made.status_code == 201, made.text[:500]
    doc = made.json()
    claim_id = doc["claim_id"]
    assert made.headers["location"] == f"/api/v1/clips/{clip.clip_id}/claims/{claim_id}"
    assert doc["report"]["format"] == "packseal-claim/v1"
    assert doc["report"]["photos"][0]["footage"]["outcome"] == "no-difference"
    assert doc["photos_deleted"] is None
    assert sorted(doc["files"]) == ["claim-1.png", "claim.json", "claim.pdf", "claim.png"]
    for name, url in doc["files"].items():
        got = httpx.get(server + url, headers=auth)
        assert got.status_code == 200, name
        assert got.content[:4] in (b"\x89PNG", b"%PDF", b"{\n  "), name
    again = httpx.get(server + made.headers["location"], headers=auth).json()
    assert again["report"] == doc["report"]
    listed = httpx.get(api, headers=auth).json()["claims"]
    assert claim_id in [c["claim_id"] for c in listed]
    kept = httpx.get(f"{api}/{claim_id}/photo-1", headers=auth)
    assert kept.status_code == 422  # the kept photos are no report file: never served
    events = portal.accounts.custody(clip.clip_id, limit=50)
    assert any(
        e.action == "claim-check" and claim_id in e.detail and e.user == "auditor" for e in events
    )
    assert any(e.action == "export-claim" and claim_id in e.detail for e in events)
    # one path, two routes: a 405 names both methods (Starlette named the first's only)
    other = httpx.request("PUT", api, headers=auth)
    assert (other.status_code, other.headers["allow"]) == (405, "GET, POST")
    # an anonymous upload is refused before its body is read
    assert httpx.post(api, files=_one("b.jpg", honest_photo())).status_code == 401


@pytest.mark.parametrize("fraction", [0.0, 0.004, 0.0051, 0.0099, 0.01, 0.0149, 0.015, 0.27])
def test_the_page_mentions_the_part_not_compared_as_the_cli_does(fraction: float) -> None:
    # The CLI and the claim page mention it from compare.UNSEEN_SAID up, in whole percent;
    # the portal once rounded first and said "1 %" of a share they leave unsaid.
    from packseal.web import _claims
    from verifier.claim import compare

    said = compare.UNSEEN_SAID
    assert said == _claims.UNSEEN_SAID
    _unseen_said = _claims._unseen_said
    cli = f"{100 * fraction:.0f}" if fraction >= said else "0"
    assert str(_unseen_said(fraction)) == cli
    assert (_unseen_said(fraction) > 0) == (fraction >= said)


def test_why_a_product_was_not_found_is_said_in_the_page_language() -> None:
    from packseal.web._claims import _shown

    english = (
        "the product was not found in any sealed frame; the closest, segment 2/5 frame 9: "
        "12 feature matches, 30 needed"
    )
    photo = {
        "name": "other.jpg", "size": 1, "format": "JPEG", "width": 4, "height": 3,
        "findings": [],
        "footage": {
            "outcome": "not-found",
            "why_not_found": english,
            "why_not": {"reason": "few_matches", "n": 12, "need": 30,
                        "closest": {"segment": 2, "segments": 5, "frame": 9}},
        },
    }  # fmt: skip
    zh = _shown(photo, "zh-CN")["why_not_found"]
    assert zh == "最接近的是分段 2/5 第 9 帧：12 个特征匹配，需要 30 个"
    assert _shown(photo, "en")["why_not_found"] == english.split("; ", 1)[1]
    # A report kept before the reasons were: its English, as it was
    del photo["footage"]["why_not"]  # type: ignore[attr-defined]
    assert _shown(photo, "zh-CN")["why_not_found"] == english
