"""The portal and the station screen in zh-CN: by Accept-Language, else ui.language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from packseal.web.station import create_station_screen
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import PASSWORD, Portal, make_portal
from tests.packseal.web.stations import running_station, wait_for
from tests.recording import Recording

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.fixture
def fresh(recording: Recording) -> Iterator[TestClient]:
    with TestClient(make_portal(recording.app).web, follow_redirects=False) as c:
        yield c


def test_pages_follow_the_browser(fresh: TestClient) -> None:
    page = fresh.get("/login", headers=ZH)
    assert '<html lang="zh-CN">' in page.text
    assert "用户名" in page.text
    assert "User name" not in page.text
    english = fresh.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "User name" in english.text


def test_pages_default_to_ui_language(recording: Recording) -> None:
    portal: Portal = make_portal(recording.app)
    portal.web.state.language = "zh-CN"  # as create_portal sets it from ui.language
    with TestClient(portal.web, follow_redirects=False) as client:
        assert "用户名" in client.get("/login").text
        assert "User name" in client.get("/login", headers={"Accept-Language": "en"}).text
        form = client.get("/login").text
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login",
            data={"name": "merchant", "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        )
        clips = client.get("/clips")
        assert "按订单、运单、日期、工位或状态搜索封存的装箱片段。" in clips.text
        assert "搜索" in clips.text
        assert re.search(r'<td class="num">\d+ 秒</td>', clips.text)  # durations too


def test_the_station_screen_speaks_chinese(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("zh-station") / "data"
    with running_station(data) as (app, station):
        web, _ = create_station_screen(
            station,
            app.config,
            host="127.0.0.1",
            port=8471,
            allowed_hosts=frozenset({"testserver"}),
        )
        post = {"X-Packseal-Station": "1", **ZH}
        with TestClient(web) as client:
            page = client.get("/", headers=ZH)
            assert '<html lang="zh-CN">' in page.text
            script = page.text.split('<script id="messages" type="application/json">', 1)[1]
            messages = json.loads(script.split("</script>", 1)[0])  # what station.js reads
            assert messages["Ready — scan an order"] == "就绪 — 请扫描订单"
            lonely = client.post("/api/scan", json={"code": "TRK-ZH-000001"}, headers=post)
            assert lonely.json()["effect"] == "没有打开的订单：请先扫描订单条码"
            wait_for(lambda: client.get("/api/status").json()["alarms"] != [])
            st = client.get("/api/status", headers=ZH).json()
            assert st["alarms"] == ["扫描了运单 TRK-ZH-000001，但没有打开的订单"]
            assert st["advice"] == "先扫描订单条码，再扫描运单。扫描 PACKSEAL-ACK 解除。"
            english = client.get("/api/status").json()
            assert english["alarms"] == ["waybill TRK-ZH-000001 scanned, but no order is open"]
