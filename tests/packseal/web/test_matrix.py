"""The authorization matrix: every route of the portal x every kind of caller.

The routes come from the app itself, so a new route without a row here fails the test
instead of going unchecked. Callers: anonymous, a merchant, an auditor, an admin (each
with a browser session, and again with an API token), and a wrong bearer token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import iter_route_contexts

from packseal.accounts import Role
from packseal.web._auth import ADMINS, AUDITORS, READERS
from packseal.web.shares import Shares
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import Portal, session_for, token_for

PUBLIC = frozenset({"public"})


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]  # roles, or {"public"}
    ok: frozenset[int]  # what an allowed caller gets (authorization passed)
    anonymous: int | None = None  # public routes: what everyone gets


R, A, ADM = frozenset(READERS), frozenset(AUDITORS), frozenset(ADMINS)
OK = frozenset({200})

# (method, path template) -> who may, and what they get.
MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/openapi.json"): Row(PUBLIC, OK, 200),
    ("HEAD", "/openapi.json"): Row(PUBLIC, OK, 200),
    ("GET", "/healthz"): Row(PUBLIC, OK, 200),
    ("GET", "/trust.json"): Row(PUBLIC, OK, 200),
    ("GET", "/verify"): Row(PUBLIC, OK, 200),
    # A live share link of portal.clip: anyone holding it, whatever else they send.
    ("GET", "/s/{secret}"): Row(PUBLIC, OK, 200),
    ("GET", "/s/{secret}/bundle.zip"): Row(PUBLIC, OK, 200),
    ("GET", "/s/{secret}/trust.json"): Row(PUBLIC, OK, 200),
    ("POST", "/clips/{clip_id}/share"): Row(R, OK),  # the new link, shown once
    ("POST", "/clips/{clip_id}/shares/{link_id}/revoke"): Row(R, frozenset({303, 409})),
    ("GET", "/static"): Row(PUBLIC, OK, 200),
    ("GET", "/"): Row(PUBLIC, frozenset({303}), 303),
    ("GET", "/login"): Row(PUBLIC, OK, 200),
    ("POST", "/login"): Row(PUBLIC, frozenset({422}), 422),  # empty form
    ("POST", "/logout"): Row(R, frozenset({303})),
    ("GET", "/orders/{order_id}"): Row(R, frozenset({303})),
    ("GET", "/clips"): Row(R, OK),
    ("GET", "/clips/{clip_id}"): Row(R, OK),
    ("GET", "/clips/{clip_id}/video.mp4"): Row(R, OK),
    ("HEAD", "/clips/{clip_id}/video.mp4"): Row(R, OK),
    ("GET", "/clips/{clip_id}/bundle.zip"): Row(R, OK),
    ("GET", "/clips/{clip_id}/sheet.{fmt}"): Row(R, OK),
    ("GET", "/clips/{clip_id}/marketplace.zip"): Row(R, OK),
    ("GET", "/clips/{clip_id}/marketplace.mp4"): Row(R, OK),
    # Claim checks: like an export, anyone who may see the clip (auditors too). An empty
    # form is a clean 422; the report of conftest's `claimed` check and its claim.json.
    ("POST", "/clips/{clip_id}/claim"): Row(R, frozenset({422})),
    ("GET", "/clips/{clip_id}/claims/{claim_id}"): Row(R, OK),
    ("GET", "/clips/{clip_id}/claims/{claim_id}/{file}"): Row(R, OK),
    ("GET", "/audit"): Row(A, OK),
    ("POST", "/audit/run"): Row(A, frozenset({303, 409})),  # 409: one is still running
    ("GET", "/admin/users"): Row(ADM, OK),
    ("POST", "/admin/users"): Row(ADM, frozenset({400})),  # empty form: a clean refusal
    ("POST", "/admin/users/{name}"): Row(ADM, frozenset({400})),
    ("GET", "/api/v1/me"): Row(R, OK),
    ("GET", "/api/v1/clips"): Row(R, OK),
    ("GET", "/api/v1/orders/{order_id}"): Row(R, OK),
    ("GET", "/api/v1/clips/{clip_id}"): Row(R, OK),
    ("GET", "/api/v1/clips/{clip_id}/bundle"): Row(R, OK),
    # The API's claim checks: the same callers as the page's (an empty form: 422).
    ("POST", "/api/v1/clips/{clip_id}/claims"): Row(R, frozenset({422})),
    ("GET", "/api/v1/clips/{clip_id}/claims"): Row(R, OK),
    ("GET", "/api/v1/clips/{clip_id}/claims/{claim_id}"): Row(R, OK),
    ("GET", "/api/v1/clips/{clip_id}/claims/{claim_id}/{file}"): Row(R, OK),
    ("GET", "/api/v1/audit"): Row(A, OK),
    ("POST", "/api/v1/audit/runs"): Row(A, frozenset({202, 409})),
    ("GET", "/api/v1/audit/runs/{run_id}"): Row(A, OK),
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
)


def app_routes(portal: Portal) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(portal.web.routes):
        assert route.path is not None
        for method in sorted(route.methods or {"GET"}):  # a mount serves GET
            found.append((method, route.path))
    return found


def test_every_route_has_a_row(portal: Portal) -> None:
    routes = set(app_routes(portal))
    assert routes == set(MATRIX), (
        f"routes without a row: {sorted(routes - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - routes)}"
    )


def test_nothing_can_be_deleted_or_rewritten(portal: Portal) -> None:
    """No route deletes or edits: the custody record and the evidence have no such door."""
    methods = {method for method, _ in app_routes(portal)}
    assert methods <= {"GET", "HEAD", "POST"}
    assert not any("delete" in path or "custody" in path for _, path in app_routes(portal))


@dataclass(frozen=True)
class Shared:
    secret: str  # a live link of portal.clip (never revoked here)
    link_id: int  # another link of portal.clip: the revoke row revokes it


def concrete(
    path: str, portal: Portal, run_id: int, shared: Shared | None = None, claim: str = "0" * 16
) -> str:
    row = portal.clip
    path = path.replace("{claim_id}", claim).replace("{file}", "claim.json")
    if shared is not None:
        path = path.replace("{secret}", shared.secret).replace("{link_id}", str(shared.link_id))
    return (
        path.replace("{clip_id}", row.clip_id)
        .replace("{order_id}", row.order_id)
        .replace("{fmt}", "png")
        .replace("{name}", "merchant")
        .replace("{run_id}", str(run_id))
        .replace("/static", "/static/portal.css")
    )


@pytest.fixture(scope="module")
def run_id(portal: Portal) -> int:
    run = portal.accounts.start_audit_run("matrix", at_ms=portal.app.clock.now_ms())
    portal.accounts.finish_audit_run(run, "clean", at_ms=portal.app.clock.now_ms(), summary={})
    return run


@pytest.fixture(scope="module")
def shared(portal: Portal) -> Shared:
    shares = Shares(portal.accounts.engine)
    now = portal.app.clock.now_ms()
    clip = portal.clip
    secret, _ = shares.create(clip.clip_id, clip.order_id, by="matrix", at_ms=now, days=1)
    _, other = shares.create(clip.clip_id, clip.order_id, by="matrix", at_ms=now, days=1)
    return Shared(secret, other.id)


@pytest.fixture(scope="module")
def matrix_client(portal: Portal) -> Iterator[TestClient]:
    with TestClient(portal.web, follow_redirects=False) as c:
        yield c


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_matrix(
    method: str,
    path: str,
    caller: str,
    portal: Portal,
    run_id: int,
    shared: Shared,
    claimed: str,
    matrix_client: TestClient,
) -> None:
    row = MATRIX[(method, path)]
    url = concrete(path, portal, run_id, shared, claimed)
    headers: dict[str, str] = {}
    matrix_client.cookies.clear()
    role: Role | None = None
    if caller == "wrong-token":
        headers["Authorization"] = "Bearer pst_not-a-token-of-this-portal"
    elif caller.endswith("-token"):
        role = caller.removesuffix("-token")  # type: ignore[assignment]
        headers["Authorization"] = f"Bearer {token_for(portal, caller.removesuffix('-token'))}"
    elif caller != "anonymous":
        role = caller  # type: ignore[assignment]
        cookie, csrf = session_for(portal, caller)  # a fresh one: /logout ends it
        matrix_client.cookies.set("packseal_session", cookie)
        headers["X-CSRF-Token"] = csrf
    got = matrix_client.request(method, url, headers=headers)
    status = got.status_code

    if row.allowed == PUBLIC:
        assert status == row.anonymous, got.text[:300]
    elif caller == "wrong-token":
        assert status == 401, got.text[:300]
        assert method == "HEAD" or "not hold a valid API token" in got.text
    elif role is None:  # anonymous: pages send to the login form, the API says 401
        if path.startswith("/api/"):
            assert status == 401
            assert got.headers["www-authenticate"] == "Bearer"
        else:
            assert status == 303
            assert got.headers["location"].startswith("/login?next=")
    elif role in row.allowed:
        assert status in row.ok, f"{caller} {method} {url}: {status} {got.text[:300]}"
    else:
        assert status == 403, f"{caller} {method} {url}: {status} {got.text[:300]}"
        assert method == "HEAD" or f"is a {role}" in got.text


def test_session_posts_without_the_csrf_token_are_refused(
    portal: Portal, matrix_client: TestClient
) -> None:
    posts = sorted(
        (m, p) for (m, p), row in MATRIX.items() if m == "POST" and row.allowed != PUBLIC
    )
    assert posts
    for method, path in posts:
        matrix_client.cookies.clear()
        cookie, _ = session_for(portal, "admin")
        matrix_client.cookies.set("packseal_session", cookie)
        for extra in ({}, {"X-CSRF-Token": "x" * 43}):
            got = matrix_client.request(
                method, concrete(path, portal, 1, Shared("x", 1)), headers=extra
            )
            assert got.status_code == 403, (path, got.text[:200])
            assert "CSRF" in got.text


# -- share links: one clip, nothing else ------------------------------------------------------


def test_expired_revoked_or_altered_share_links_give_nothing(
    portal: Portal, matrix_client: TestClient
) -> None:
    shares = Shares(portal.accounts.engine)
    clip = portal.clip
    now = portal.app.clock.now_ms()
    expired, _ = shares.create(
        clip.clip_id, clip.order_id, by="matrix", at_ms=now - 3 * 86_400_000, days=1
    )
    revoked, link = shares.create(clip.clip_id, clip.order_id, by="matrix", at_ms=now, days=1)
    shares.revoke(link.id, at_ms=now)
    live, _ = shares.create(clip.clip_id, clip.order_id, by="matrix", at_ms=now, days=1)
    altered = live[:-1] + ("A" if live[-1] != "A" else "B")
    matrix_client.cookies.clear()
    for secret in (expired, revoked, altered, live + "x", live.upper(), "psl_", "x" * 200):
        for tail in ("", "/bundle.zip", "/trust.json"):
            got = matrix_client.get(f"/s/{secret}{tail}")
            assert got.status_code == 404, (secret, tail, got.status_code)
            assert "share link is not valid" in got.text or got.status_code == 404
    assert matrix_client.get(f"/s/{live}").status_code == 200


def test_a_share_link_reaches_its_clip_and_nothing_else(
    portal: Portal, matrix_client: TestClient
) -> None:
    import io
    import json
    import zipfile

    shares = Shares(portal.accounts.engine)
    clip, other = portal.rows[-1], portal.rows[0]
    assert clip.clip_id != other.clip_id
    secret, _ = shares.create(
        clip.clip_id, clip.order_id, by="matrix", at_ms=portal.app.clock.now_ms(), days=1
    )
    matrix_client.cookies.clear()
    got = matrix_client.get(f"/s/{secret}/bundle.zip")
    assert got.status_code == 200
    with zipfile.ZipFile(io.BytesIO(got.content)) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["clip_id"] == clip.clip_id
    # The secret is no credential anywhere else: not as a bearer token, not as a cookie,
    # not with another clip's id or a search in its path or query.
    for headers in (
        {"Authorization": f"Bearer {secret}"},
        {"Cookie": f"packseal_session={secret}"},
    ):
        for path in (
            f"/clips/{other.clip_id}/bundle.zip",
            f"/clips/{clip.clip_id}/bundle.zip",
            f"/clips?order={other.order_id}",
            f"/api/v1/clips/{other.clip_id}/bundle",
            "/api/v1/clips",
        ):
            status = matrix_client.get(path, headers=headers).status_code
            assert status in (303, 401), (path, headers, status)
    for path in (
        f"/s/{secret}/{other.clip_id}/bundle.zip",
        f"/s/{secret}/clips",
        f"/s/{secret}/bundle.zip/../../clips/{other.clip_id}/bundle.zip",
        f"/s/{secret}?clip={other.clip_id}",
    ):
        got = matrix_client.get(path)
        if got.status_code == 200:  # the query is ignored: still the shared clip's page
            assert path.endswith(f"?clip={other.clip_id}")
            assert b"packseal" in got.content
        else:
            assert got.status_code in (303, 404), (path, got.status_code)
    events = portal.accounts.custody(clip.clip_id, limit=20)
    assert any(e.action == "share-bundle" and e.role == "anonymous" for e in events)
    assert not any(e.action.startswith("share") for e in portal.accounts.custody(other.clip_id))
