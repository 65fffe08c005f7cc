"""The station screen over HTTP, in front of a real station recording the demo in real time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from packseal.app import App
from packseal.web.station import StationScreen, create_station_screen
from recorder.station import Station
from tests.packseal.web._client import TestClient
from tests.packseal.web.stations import running_station, wait_for

pytestmark = pytest.mark.slow

POST = {"X-Packseal-Station": "1"}
TOKEN = "station-token-0123456789abcdef"


@dataclass
class Screens:
    app: App
    station: Station
    local: FastAPI  # bound to loopback: no token
    local_state: StationScreen
    remote: FastAPI  # bound to 0.0.0.0: token required


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screens]:
    data = tmp_path_factory.mktemp("station") / "data"
    with running_station(data) as (app, station):
        local, state = create_station_screen(
            station,
            app.config,
            host="127.0.0.1",
            port=8471,
            allowed_hosts=frozenset({"testserver"}),
        )
        remote, _ = create_station_screen(
            station,
            app.config,
            host="0.0.0.0",  # noqa: S104 (nothing listens: the app is called in process)
            port=8471,
            token=TOKEN,
        )
        yield Screens(app, station, local, state, remote)


@pytest.fixture
def local(screens: Screens) -> Iterator[TestClient]:
    with TestClient(screens.local, follow_redirects=False) as c:
        yield c


def status(client: TestClient) -> dict[str, object]:
    data: dict[str, object] = client.get("/api/status").json()
    return data


def test_page_and_status(local: TestClient, screens: Screens) -> None:
    page = local.get("/")
    assert page.status_code == 200
    assert "Packing station 1" in page.text
    assert 'id="banner"' in page.text
    assert 'data-submit-after-ms="120"' in page.text  # guns without Enter
    st = status(local)
    assert st["state"] in ("idle", "recording")
    assert st["station"] == {"id": "station-01", "name": "Packing station 1"}
    assert isinstance(st["frame_index"], int)
    assert local.get("/static/station.js").status_code == 200
    assert local.get("/healthz").json() == {"status": "ok"}


def test_preview_is_a_fresh_jpeg_with_long_polling(local: TestClient) -> None:
    first = local.get("/api/preview.jpg")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert first.content[:3] == b"\xff\xd8\xff"
    assert first.headers["cache-control"] == "no-store"
    index = int(first.headers["x-frame-index"])
    newer = local.get(f"/api/preview.jpg?after={index}")
    assert int(newer.headers["x-frame-index"]) > index


def test_a_typed_order_opens_a_clip_and_stop_seals_it(local: TestClient, screens: Screens) -> None:
    done = local.post("/api/scan", json={"code": "WEB-ORDER-000001"}, headers=POST)
    assert done.status_code == 200
    assert done.json() == {
        "accepted": True,
        "text": "WEB-ORDER-000001",
        "kind": "order",
        "effect": "opens a clip for order WEB-ORDER-000001",
    }
    wait_for(lambda: status(local)["order_id"] == "WEB-ORDER-000001")
    st = status(local)
    assert st["state"] == "recording"
    assert isinstance(st["elapsed_ms"], int)
    local.post("/api/scan", json={"code": "TRK-WEB-12345678"}, headers=POST)
    wait_for(lambda: status(local)["tracking_ids"] == ["TRK-WEB-12345678"])
    opened = status(local)["clips_opened"]
    assert local.post("/api/stop", headers=POST).status_code == 200
    wait_for(lambda: status(local)["order_id"] is None)
    recent = status(local)["recent"]
    assert isinstance(recent, list)
    assert recent[0]["order_id"] == "WEB-ORDER-000001"
    assert recent[0]["state"] in ("sealing", "sealed")
    assert status(local)["clips_opened"] == opened
    wait_for(lambda: status(local)["clips_sealed"] >= 1, timeout=20)  # type: ignore[operator]
    nothing_open = local.post("/api/stop", headers=POST)
    assert nothing_open.status_code == 409
    assert "no clip is open" in nothing_open.text


def test_cancel_and_alarms(local: TestClient, screens: Screens) -> None:
    local.post("/api/scan", json={"code": "WEB-ORDER-000002"}, headers=POST)
    wait_for(lambda: status(local)["order_id"] == "WEB-ORDER-000002")
    assert local.post("/api/cancel", headers=POST).status_code == 200
    wait_for(lambda: status(local)["order_id"] is None)
    assert local.post("/api/cancel", headers=POST).status_code == 409
    local.post("/api/scan", json={"code": "TRK-NO-ORDER-123456"}, headers=POST)
    wait_for(lambda: bool(status(local)["alarms"]))
    assert "no order is open" in str(status(local)["alarms"])
    assert status(local)["state"] == "alarm"
    assert local.post("/api/alarms/clear", headers=POST).json() == {"cleared": True}
    assert status(local)["alarms"] == []
    # the same order packed twice: recorded again, flagged as a duplicate
    local.post("/api/scan", json={"code": "WEB-ORDER-000002"}, headers=POST)
    wait_for(lambda: "already packed" in str(status(local)["alarms"]))
    assert status(local)["order_id"] == "WEB-ORDER-000002"
    local.post("/api/stop", headers=POST)
    local.post("/api/alarms/clear", headers=POST)


def scan(client: TestClient, code: str) -> dict[str, object]:
    done = client.post("/api/scan", json={"code": code}, headers=POST)
    assert done.status_code == 200, done.text
    answer: dict[str, object] = done.json()
    return answer


def test_an_alarm_says_what_to_do_and_a_scan_acknowledges_it(local: TestClient) -> None:
    lonely = scan(local, "TRK-LONELY-000001")
    assert lonely["accepted"] is False
    assert lonely["effect"] == "no order is open: scan the order barcode first"
    wait_for(lambda: status(local)["state"] == "alarm")
    st = status(local)
    assert (
        st["advice"]
        == "Scan the order barcode first, then the waybill. Scan PACKSEAL-ACK to dismiss."
    )
    assert st["codes"] == {
        "ack": "PACKSEAL-ACK",
        "stop": "PACKSEAL-STOP",
        "cancel": "PACKSEAL-CANCEL",
    }
    # the packer's hands hold a scanner, not a mouse: the ack code clears it
    ack = scan(local, "PACKSEAL-ACK")
    assert (ack["accepted"], ack["kind"], ack["effect"]) == (True, "control", "alarms acknowledged")
    wait_for(lambda: status(local)["alarms"] == [])
    assert status(local)["advice"] is None


def test_an_alarm_clears_when_the_next_order_starts(local: TestClient) -> None:
    scan(local, "TRK-LONELY-000002")
    wait_for(lambda: status(local)["state"] == "alarm")
    scan(local, "WEB-ORDER-000010")
    wait_for(lambda: status(local)["order_id"] == "WEB-ORDER-000010")
    st = status(local)
    assert st["alarms"] == []
    assert st["state"] == "recording"
    local.post("/api/stop", headers=POST)
    wait_for(lambda: status(local)["order_id"] is None)


def test_ignored_input_says_why(local: TestClient) -> None:
    junk = scan(local, "hello world")
    assert junk == {
        "accepted": False,
        "text": "hello world",
        "kind": "other",
        "effect": "not an order or a waybill: it matches neither the order pattern nor "
        "a waybill pattern",
    }
    stop = scan(local, "PACKSEAL-STOP")
    assert (stop["accepted"], stop["effect"]) == (False, "no clip is open to stop")
    scan(local, "PACKSEAL-ACK")
    scan(local, "WEB-ORDER-000011")
    wait_for(lambda: status(local)["order_id"] == "WEB-ORDER-000011")
    product = scan(local, "4006381333931")
    assert product["accepted"] is True
    assert product["effect"] == (
        "kept in order WEB-ORDER-000011's clip, but not an order or a waybill: "
        "a product barcode (EAN/UPC digits), not an order or a waybill"
    )
    local.post("/api/stop", headers=POST)
    wait_for(lambda: status(local)["order_id"] is None)


def test_a_sealed_clip_lasts_as_long_as_the_portal_says(
    local: TestClient, screens: Screens
) -> None:
    from packseal.web._templates import duration

    scan(local, "WEB-ORDER-000012")
    wait_for(lambda: status(local)["order_id"] == "WEB-ORDER-000012")
    local.post("/api/stop", headers=POST)

    def sealed() -> dict[str, object] | None:
        recent = status(local)["recent"]
        assert isinstance(recent, list)
        found = [c for c in recent if c["order_id"] == "WEB-ORDER-000012"]
        return found[0] if found and found[0]["state"] == "sealed" else None

    wait_for(lambda: sealed() is not None, timeout=20)
    clip = sealed()
    assert clip is not None
    row = screens.app.store.clip(str(clip["clip_id"]))
    assert row is not None
    assert clip["footage_ms"] == row.duration_ms  # what `packseal clips` and the portal use
    assert clip["duration"] == duration(row.duration_ms)
    assert isinstance(clip["duration_ms"], int)
    assert clip["duration_ms"] < row.duration_ms  # scan to stop: the footage has its rolls


def test_a_stopped_station_takes_no_scans(local: TestClient, screens: Screens) -> None:
    screens.local_state.failure = "disk full: no room for segment 12"
    try:
        refused = scan(local, "WEB-ORDER-000013")
        assert refused["accepted"] is False
        assert "not recording" in str(refused["effect"])
        assert status(local)["order_id"] is None
    finally:
        screens.local_state.failure = None


def test_disk_low_and_a_stopped_station_are_shown(local: TestClient, screens: Screens) -> None:
    state = screens.local_state
    real = state.free_bytes
    state.free_bytes = lambda: 10 << 20  # 10 MB left on the disk
    state._disk = (0.0, 0)
    try:
        warnings = status(local)["warnings"]
        assert isinstance(warnings, list)
        assert warnings[0].startswith("disk low: 10.5 MB free")
    finally:
        state.free_bytes = real
        state._disk = (0.0, 0)
    state.failure = "disk full: no room for segment 12"
    try:
        assert status(local)["failure"] == "disk full: no room for segment 12"
    finally:
        state.failure = None


def test_station_actions_need_the_page(local: TestClient) -> None:
    plain = local.post("/api/scan", json={"code": "WEB-ORDER-000003"})
    assert plain.status_code == 403
    assert "x-packseal-station" in plain.text
    cross = local.post("/api/stop", headers={**POST, "Origin": "http://evil.example"})
    assert cross.status_code == 403
    form = local.post(
        "/api/scan",
        content="code=WEB-ORDER-000004",
        headers={**POST, "content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422  # JSON only
    empty = local.post("/api/scan", json={"code": ""}, headers=POST)
    assert empty.status_code == 422
    blank = local.post("/api/scan", json={"code": "\x00\x01 "}, headers=POST)
    assert blank.status_code == 422
    assert "empty or too long" in blank.text
    huge = local.post("/api/scan", content=b"x" * 20_000, headers=POST)
    assert huge.status_code == 413


def test_rebinding_hosts_are_refused(screens: Screens) -> None:
    with TestClient(screens.local, base_url="http://evil.example:8471") as client:
        got = client.get("/api/status")
        assert got.status_code == 403
        assert "loopback" in got.text


def test_off_loopback_the_token_is_required(screens: Screens) -> None:
    with TestClient(screens.remote, follow_redirects=False) as client:
        assert client.get("/").status_code == 401
        assert client.get("/api/status").status_code == 401
        wrong = client.get("/api/status", headers={"Authorization": "Bearer wrong-token"})
        assert wrong.status_code == 401
        bearer = client.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200
        entry = client.get(f"/?token={TOKEN}")
        assert entry.status_code == 303
        assert entry.headers["location"] == "/"
        assert "HttpOnly" in entry.headers["set-cookie"]
        assert client.get("/").status_code == 200  # the cookie carries it now
        assert client.get("/api/status").status_code == 200
        client.cookies.clear()
        assert client.get("/?token=nope").status_code == 401


def test_off_loopback_without_a_token_is_a_mistake(screens: Screens) -> None:
    with pytest.raises(ValueError, match="needs a token"):
        create_station_screen(screens.station, screens.app.config, host="192.0.2.7", port=1)


# -- every route x every kind of caller -------------------------------------------------


PUBLIC = {("GET", "/healthz"), ("GET", "/static")}
CALLERS = ("loopback", "loopback-foreign-host", "remote-none", "remote-wrong", "remote-token")


def test_station_routes_matrix(screens: Screens) -> None:
    routes = sorted(
        (m, r.path)
        for r in iter_route_contexts(screens.local.routes)
        if r.path is not None
        for m in (r.methods or {"GET"})
    )
    assert {p for _, p in routes} == {
        "/",
        "/api/status",
        "/api/preview.jpg",
        "/api/scan",
        "/api/stop",
        "/api/cancel",
        "/api/alarms/clear",
        "/healthz",
        "/static",
    }
    for caller in CALLERS:
        app = screens.local if caller.startswith("loopback") else screens.remote
        base = "http://evil.example" if caller == "loopback-foreign-host" else "http://testserver"
        headers = dict(POST)
        if caller == "remote-wrong":
            headers["Authorization"] = "Bearer not-the-token-at-all"
        if caller == "remote-token":
            headers["Authorization"] = f"Bearer {TOKEN}"
        with TestClient(app, base_url=base, follow_redirects=False) as client:
            for method, path in routes:
                url = "/static/station.css" if path == "/static" else path
                # stop/cancel with no clip open: 409 means the request was let through
                body = {"code": "WEB-MATRIX-0001"} if path == "/api/scan" else None
                got = client.request(method, url, headers=headers, json=body)
                if (method, path) in PUBLIC:
                    expected = {200}
                elif caller == "loopback-foreign-host":
                    expected = {403}
                elif caller in ("remote-none", "remote-wrong"):
                    expected = {401}
                else:
                    expected = {200, 409}
                assert got.status_code in expected, (caller, method, path, got.status_code)
            client.post("/api/stop", headers=headers)


def test_free_bytes_defaults_to_the_blob_store(screens: Screens, tmp_path: Path) -> None:
    assert screens.local_state.free_bytes() > 0
