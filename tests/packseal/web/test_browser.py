"""Both faces in the system Chromium, through real HTTP servers on 127.0.0.1.

Screenshots of every step go to test-artifacts/web/ (gitignored): look at them.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from packseal.cli import main
from packseal.web import ServerThread
from packseal.web.station import create_station_screen
from tests import chromium
from tests.chromium import launch
from tests.packseal.web.conftest import PASSWORD, Portal, make_portal
from tests.packseal.web.stations import running_station
from tests.recording import Recording
from verifier.verify import verify_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Playwright types a code key by key; on a loaded machine the gaps between keys can pass
# the gun's 120 ms "no Enter" pause and split one code in two. A real gun types a code in
# a few ms; the tests give the pause room instead.
SLOW_TYPIST = {"gun": {"submit_after_ms": 1500}}
ARTIFACTS = chromium.ARTIFACTS / "web"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(ARTIFACTS) as b:
        yield b


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_station_screen_typed_scan_starts_a_clip(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("browser-station") / "data"
    with running_station(data, scan=SLOW_TYPIST) as (app, station):
        web, _ = create_station_screen(station, app.config, host="127.0.0.1", port=0)
        with ServerThread(web, "127.0.0.1", 0) as server:
            # The screen checks the Host header against its port: build it for this one.
            web.state.screen.allowed_hosts = frozenset({f"127.0.0.1:{server.port}"})
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            # the status loop catches its errors (showing NO CONNECTION) and logs them
            page.on(
                "console", lambda m: errors.append(m.text) if "station status" in m.text else None
            )
            page.goto(server.url + "/")
            banner = page.locator("#banner")
            expect(banner).to_have_class(re.compile(r"state-idle"), timeout=15_000)
            frames_before = page.evaluate("window.packsealStation.frames")
            time.sleep(2.0)
            frames = page.evaluate("window.packsealStation.frames") - frames_before
            assert frames >= 10, f"preview at {frames / 2:.1f} fps, want >= 5"
            shot(page, "station-1-idle")

            # A USB scanner gun is a keyboard: it types the code and Enter.
            page.keyboard.type("WEB-ORDER-777777")
            page.keyboard.press("Enter")
            expect(page.locator("#banner-order")).to_have_text("WEB-ORDER-777777", timeout=5000)
            expect(banner).to_have_class(re.compile(r"state-recording"))
            expect(page.locator("#banner-state")).to_have_text("RECORDING")
            expect(page.locator("#recent li").first).to_contain_text("WEB-ORDER-777777")
            page.wait_for_function("() => window.packsealStation.sounds.includes('start')")
            # the scanner box says what is going on, never "Ready" while recording
            expect(page.locator("#typed")).to_contain_text(
                "Recording WEB-ORDER-777777", timeout=5000
            )
            expect(page.locator("#live-word")).to_have_text("LIVE")
            shot(page, "station-2-recording")

            # A gun without an Enter suffix: the code is sent after a short pause.
            page.keyboard.type("TRK-GUN-00042")
            expect(page.locator("#banner-detail")).to_contain_text("TRK-GUN-00042", timeout=5000)
            shot(page, "station-3-waybill")

            # Sealing: the whole screen says SEALED ✓ with the order, and its chord plays.
            page.click("#stop")
            expect(page.locator("#banner-state")).to_have_text("IDLE", timeout=5000)
            sealed = page.locator("#sealed")
            expect(sealed).to_be_visible(timeout=20_000)
            expect(sealed).to_contain_text("SEALED ✓")
            expect(page.locator("#sealed-order")).to_have_text("WEB-ORDER-777777")
            assert page.evaluate("window.packsealStation.sounds").count("sealed") == 1
            shot(page, "station-4-sealed")
            expect(sealed).to_be_hidden(timeout=6000)
            expect(page.locator("#recent li").first).to_contain_text("sealed")
            expect(page.locator("#typed")).to_contain_text("Ready — scan an order")

            # An alarm: a waybill with no order open. It says what to do, and a scan of the
            # ack code (the packer has no mouse) dismisses it.
            page.keyboard.type("TRK-LONELY-0001")
            page.keyboard.press("Enter")
            expect(banner).to_have_class(re.compile(r"state-alarm"), timeout=5000)
            expect(page.locator("#banner-detail")).to_contain_text("no order is open")
            expect(page.locator("#banner-advice")).to_contain_text("Scan PACKSEAL-ACK to dismiss")
            expect(page.locator("#last-scan")).to_contain_text("ignored")
            expect(page.locator("#last-scan")).to_contain_text("scan the order barcode first")
            page.wait_for_function("() => window.packsealStation.sounds.includes('error')")
            expect(page.locator("#typed")).to_contain_text("Scan PACKSEAL-ACK", timeout=5000)
            shot(page, "station-5-alarm")
            page.keyboard.type("PACKSEAL-ACK")
            page.keyboard.press("Enter")
            expect(banner).to_have_class(re.compile(r"state-idle"), timeout=5000)

            # the button still works, and the next order clears an alarm by itself
            page.keyboard.type("TRK-LONELY-0002")
            page.keyboard.press("Enter")
            expect(banner).to_have_class(re.compile(r"state-alarm"), timeout=5000)
            page.click("#clear-alarms")
            expect(banner).to_have_class(re.compile(r"state-idle"), timeout=5000)

            # rejected input is shown as ignored, with the reason
            page.keyboard.type("hello world")
            page.keyboard.press("Enter")
            expect(page.locator("#last-scan .kind")).to_have_text("ignored", timeout=5000)
            expect(page.locator("#last-scan")).to_contain_text("neither the order pattern")
            shot(page, "station-6-ignored")

            # A stopped station: no LIVE, no Ready.
            station.stop()
            expect(page.locator("#banner-state")).to_have_text("RECORDING STOPPED", timeout=30_000)
            expect(page.locator("#live-word")).to_have_text("STOPPED", timeout=5000)
            expect(page.locator("#typed")).to_contain_text("Not recording", timeout=5000)
            assert "LIVE" not in page.locator(".preview").inner_text()
            shot(page, "station-7-stopped")
            assert errors == []
            page.close()


def test_merchant_finds_watches_and_downloads_a_verifiable_bundle(
    browser: Browser, recording: Recording, portal: Portal, tmp_path: Path
) -> None:
    real = make_portal(recording.app, real_sheet=True)
    row = real.clip
    with ServerThread(real.web, "127.0.0.1", 0) as server:
        context = browser.new_context(
            viewport={"width": 1360, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(server.url + "/")
        expect(page).to_have_url(re.compile(r"/login\?next="))
        shot(page, "portal-1-login")
        page.fill("input[name=name]", "merchant")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Clips")
        shot(page, "portal-2-clips")

        page.fill("input[name=order]", row.order_id)
        page.click("button:has-text('Search')")
        expect(page.locator("a.order-link")).to_have_count(1)
        expect(page.locator("a.order-link")).to_have_text(row.order_id)
        shot(page, "portal-3-search")

        page.click("a.order-link")
        expect(page.locator("h1")).to_contain_text(row.order_id)
        video = page.locator("video#player")
        page.evaluate("document.getElementById('player').muted = true")
        page.evaluate("document.getElementById('player').play()")
        page.wait_for_function(
            "() => { const v = document.getElementById('player');"
            " return v.readyState >= 2 && v.currentTime > 1.5; }",
            timeout=20_000,
        )
        state = page.evaluate(
            "(() => { const v = document.getElementById('player');"
            " return {t: v.currentTime, w: v.videoWidth, err: v.error && v.error.code,"
            " d: v.duration, start: v.seekable.length ? v.seekable.start(0) : null}; })()"
        )
        assert state["err"] is None
        assert state["w"] == 640
        # Issue 13 item 6: Chromium plays the clip from 0 for its length (it showed the
        # clip's place in the continuous recording before).
        assert state["start"] == pytest.approx(0, abs=0.07)
        assert state["d"] == pytest.approx(row.duration_ms / 1000, abs=0.07)
        page.evaluate("document.getElementById('player').pause()")
        assert video.is_visible()
        shot(page, "portal-4-clip-playing")

        with page.expect_download() as info:
            page.click("#bundle-link")
        bundle = tmp_path / info.value.suggested_filename
        info.value.save_as(bundle)
        verified = verify_bundle(bundle, recording.app.trust_file())
        assert verified.facts.order_id == row.order_id
        # and as a reviewer would: `packseal verify` with the merchant's published trust file
        trust = tmp_path / "trust.json"
        trust.write_bytes(page.request.get(server.url + "/trust.json").body())
        assert main(["verify", str(bundle), "--trust", str(trust)]) == 0
        shutil.copy(bundle, ARTIFACTS / "portal-bundle.zip")

        page.reload()
        custody = page.locator("table.custody tbody")
        expect(custody).to_contain_text("export-bundle")
        expect(custody).to_contain_text("play")
        expect(custody).to_contain_text("view")
        page.locator("table.custody").scroll_into_view_if_needed()
        shot(page, "portal-5-custody")
        assert errors == []
        context.close()


def test_auditor_runs_an_audit_with_progress(
    browser: Browser, recording: Recording, portal: Portal
) -> None:
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(server.url + "/login?next=/audit")
        page.fill("input[name=name]", "auditor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Audit")
        page.click("button:has-text('Run an audit')")
        # the page polls the run and reloads when it is done
        expect(page.locator("#run")).to_have_attribute("data-status", "clean", timeout=30_000)
        expect(page.locator(".ok-line")).to_contain_text("No errors")
        shot(page, "portal-6-audit")
        page.close()


def test_admin_users_page(browser: Browser, portal: Portal) -> None:
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(server.url + "/login?next=/admin/users")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Users")
        page.fill("form[action='/admin/users'] input[name=name]", "browser-made")
        page.fill("form[action='/admin/users'] input[name=password]", "a long password here")
        page.click("form[action='/admin/users'] button[type=submit]")
        expect(page.locator("table.users")).to_contain_text("browser-made")
        shot(page, "portal-7-users")
        page.close()


def test_every_page_in_chinese(
    browser: Browser, recording: Recording, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A browser set to zh-CN (Accept-Language): each page in Chinese, screenshotted."""
    portal = make_portal(recording.app)
    row = portal.clip
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/login?next=/clips")
        expect(page.locator("h1")).to_have_text("登录")
        shot(page, "zh-1-login")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("片段")
        expect(page.locator("form.search")).to_contain_text("订单号")
        shot(page, "zh-2-clips")
        page.goto(f"{server.url}/clips/{row.clip_id}")
        expect(page.locator("body")).to_contain_text("监管链")
        shot(page, "zh-3-clip")
        page.goto(server.url + "/audit")
        expect(page.locator("h1")).to_have_text("审计")
        shot(page, "zh-4-audit")
        page.goto(server.url + "/admin/users")
        expect(page.locator("h1")).to_have_text("用户")
        shot(page, "zh-5-users")
        page.goto(server.url + "/clips/01ZZZZZZZZZZZZZZZZZZZZZZZZ")
        expect(page.locator("body")).to_contain_text("怎么办")
        shot(page, "zh-6-error")
        assert errors == []
        context.close()

    data = tmp_path_factory.mktemp("zh-browser-station") / "data"
    with running_station(data, scan=SLOW_TYPIST) as (app, station):
        web, _ = create_station_screen(station, app.config, host="127.0.0.1", port=0)
        with ServerThread(web, "127.0.0.1", 0) as server:
            web.state.screen.allowed_hosts = frozenset({f"127.0.0.1:{server.port}"})
            context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console", lambda m: errors.append(m.text) if "station status" in m.text else None
            )
            page.goto(server.url + "/")
            expect(page.locator("#banner-state")).to_have_text("空闲", timeout=15_000)
            expect(page.locator("#typed")).to_have_text("就绪 — 请扫描订单")
            shot(page, "zh-7-station-idle")
            page.keyboard.type("WEB-ORDER-888888")
            page.keyboard.press("Enter")
            expect(page.locator("#banner-state")).to_have_text("录制中", timeout=5000)
            shot(page, "zh-8-station-recording")
            page.click("#stop")
            expect(page.locator("#sealed")).to_be_visible(timeout=20_000)
            expect(page.locator("#sealed")).to_contain_text("已封存 ✓")
            shot(page, "zh-9-station-sealed")
            page.keyboard.type("TRK-LONELY-0009")
            page.keyboard.press("Enter")
            expect(page.locator("#banner-state")).to_have_text("警报", timeout=5000)
            expect(page.locator("#banner-advice")).to_contain_text("扫描 PACKSEAL-ACK 解除")
            expect(page.locator("#last-scan")).to_contain_text("已忽略")
            shot(page, "zh-10-station-alarm")
            assert errors == []
            context.close()
