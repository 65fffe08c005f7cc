"""Hostile input: each a clean 4xx with a message, nothing reflected unescaped, nothing
reaching a query or a file path that should not."""

from __future__ import annotations

import pytest

from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import Portal, session_for, token_for

SCRIPT = "<script>alert('x')</script>"
SQLISH = ["' OR '1'='1", "SO-1'; DROP TABLE clips;--", '" UNION SELECT * FROM users --', "%' --"]


@pytest.fixture
def merchant(client: TestClient, portal: Portal) -> TestClient:
    cookie, _ = session_for(portal, "merchant")
    client.cookies.set("packseal_session", cookie)
    return client


def test_a_script_search_comes_back_escaped(merchant: TestClient) -> None:
    for field in ("order", "tracking", "station"):
        page = merchant.get("/clips", params={field: SCRIPT})
        assert page.status_code == 422
        assert SCRIPT not in page.text
        assert "<script>" not in page.text
        assert f"{field} ids are up to 128 letters" in page.text
        if field != "station":  # a choice list: not echoed at all
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text  # in its box
    api = merchant.get("/api/v1/clips", params={"order": SCRIPT})
    assert api.status_code == 422
    assert api.headers["content-type"] == "application/json"
    assert SCRIPT not in api.text


@pytest.mark.parametrize("text", SQLISH)
def test_sql_like_searches_are_refused_and_the_tables_survive(
    merchant: TestClient, portal: Portal, text: str
) -> None:
    page = merchant.get("/clips", params={"order": text})
    assert page.status_code == 422
    assert "Nothing was searched" in page.text
    assert text not in page.text  # quotes come back as entities
    assert merchant.get("/api/v1/clips", params={"tracking": text}).status_code == 422
    assert portal.app.store.count_clips() == len(portal.rows)
    assert portal.accounts.user("admin") is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-13-45"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
        ({"status": "deleted"}, "status"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "99999999999999999999"}, "page"),
        ({"order": "x" * 129}, "order"),
    ],
)
def test_bad_search_fields_are_422_naming_the_field(
    merchant: TestClient, params: dict[str, str], field: str
) -> None:
    page = merchant.get("/clips", params=params)
    assert page.status_code == 422
    assert 'class="field-error"' in page.text
    api = merchant.get("/api/v1/clips", params=params)
    assert api.status_code == 422
    assert api.json()["error"]["message"]


@pytest.mark.parametrize(
    "clip_id",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fpackseal.db",
        "01ABC%00",
        "a" * 65,
        "%3Cscript%3E",
        "...",
        "clip%20id",
    ],
)
def test_path_like_and_odd_clip_ids_are_404(merchant: TestClient, clip_id: str) -> None:
    for suffix in ("", "/video.mp4", "/bundle.zip", "/sheet.png", "/marketplace.mp4"):
        got = merchant.get(f"/clips/{clip_id}{suffix}")
        assert got.status_code == 404, (clip_id, suffix, got.status_code)
        assert "<script>" not in got.text
        assert "root:x:0:0" not in got.text
    api = merchant.get(f"/api/v1/clips/{clip_id}")
    assert api.status_code == 404
    assert api.json()["error"]["hint"]


def test_unknown_ids_are_404_with_a_hint(merchant: TestClient, portal: Portal) -> None:
    for url in (
        "/clips/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "/clips/01ZZZZZZZZZZZZZZZZZZZZZZZZ/video.mp4",
        "/orders/SO-9999-000000",
        "/api/v1/clips/01ZZZZZZZZZZZZZZZZZZZZZZZZ/bundle",
        "/api/v1/orders/SO-9999-000000",
    ):
        got = merchant.get(url)
        assert got.status_code == 404, url
        assert "search" in got.text.lower()
    assert merchant.get("/clips/x/sheet.gif").status_code == 422  # only png and pdf
    auth = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    assert merchant.get("/api/v1/audit/runs/abc", headers=auth).status_code == 422
    assert merchant.get("/api/v1/audit/runs/-5", headers=auth).status_code == 422  # ids are >= 1
    assert merchant.get("/api/v1/audit/runs/999999", headers=auth).status_code == 404


@pytest.mark.parametrize("number", ["9223372036854775808", "9" * 40, "-9223372036854775809"])
def test_ids_beyond_64_bits_are_a_clean_4xx(
    client: TestClient, portal: Portal, number: str
) -> None:
    # The database's integers are 64-bit: a larger one reached the query and gave a 500.
    auth = {"Authorization": f"Bearer {token_for(portal, 'auditor')}"}
    api = client.get(f"/api/v1/audit/runs/{number}", headers=auth)
    assert api.status_code in (404, 422), api.text
    assert api.json()["error"]["message"]
    cookie, _ = session_for(portal, "auditor")
    client.cookies.set("packseal_session", cookie)
    page = client.get("/audit", params={"run": number})
    assert page.status_code in (404, 422)
    assert "run" in page.text


def test_oversize_bodies_are_413_before_parsing(client: TestClient, portal: Portal) -> None:
    big = "x" * (65 * 1024)
    for path in ("/login", "/admin/users", "/api/v1/audit/runs", "/logout"):
        got = client.post(path, content=big, headers={"content-type": "text/plain"})
        assert got.status_code == 413, path
        assert "larger than 64 KiB" in got.json()["error"]["message"]
    # a body streamed without a length is counted as it arrives
    cookie, csrf = session_for(portal, "admin")
    client.cookies.set("packseal_session", cookie)

    def chunks() -> object:
        for _ in range(100):
            yield b"name=" + b"y" * 4096

    got = client.post(
        "/admin/users",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf},
    )
    assert got.status_code == 413


def test_bad_ranges_are_416(merchant: TestClient, portal: Portal) -> None:
    url = f"/clips/{portal.clip.clip_id}/video.mp4"
    many = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(33))
    for header in ("bytes=99999999999-", "bytes=5-1", "chunks=0-1", "bytes=x", many):
        got = merchant.get(url, headers={"Range": header})
        assert got.status_code == 416, header
        assert got.headers["content-range"].startswith("bytes */")


def test_garbage_credentials(client: TestClient) -> None:
    for header in ("Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer " + "a" * 5000, "pst_x"):
        got = client.get("/api/v1/me", headers={"Authorization": header})
        assert got.status_code == 401
    client.cookies.set("packseal_session", "<script>" * 50)
    assert client.get("/clips").status_code == 303  # an unknown cookie is just no login
    assert client.get("/api/v1/me").status_code == 401


def test_unknown_paths_and_methods(client: TestClient) -> None:
    missing = client.get(f"/{SCRIPT}")
    assert missing.status_code == 404
    assert SCRIPT not in missing.text
    assert client.delete("/clips").status_code == 405
    assert client.put("/api/v1/clips").status_code == 405
