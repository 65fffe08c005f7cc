"""Share links and the served verify page, in the system Chromium through a real portal.

A merchant makes a link on the clip page; a reviewer with a fresh browser (no cookies,
no account) opens it and sees the clip verified; the merchant revokes it and the link
gives nothing. Screenshots go to test-artifacts/web/ (gitignored): look at them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from packseal.web import ServerThread
from tests.chromium import launch
from tests.packseal.web.conftest import PASSWORD, Portal
from tests.packseal.web.test_browser import ARTIFACTS
from verifier._errors import NotVerified
from verifier.verify import verify_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(ARTIFACTS) as b:
        yield b


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def wait_done(page: Page, timeout: float = 60.0) -> dict[str, object]:
    # Polled through DevTools: the page's CSP forbids the eval wait_for_function needs.
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(
            "() => window.packsealVerify && window.packsealVerify.state === 'done' "
            "? {report: window.packsealVerify.report, error: window.packsealVerify.error} : null"
        )
        if state is not None:
            return dict(state)
        if time.monotonic() > deadline:
            raise AssertionError("the verify page did not finish")
        page.wait_for_timeout(50)


def test_share_link_opened_by_an_anonymous_browser(browser: Browser, portal: Portal) -> None:
    row = portal.clip
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        merchant = browser.new_context(viewport={"width": 1360, "height": 900})
        page = merchant.new_page()
        page.goto(f"{server.url}/login?next=/clips/{row.clip_id}")
        page.fill("input[name=name]", "merchant")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#shares")).to_be_visible()
        page.fill("#shares input[name=days]", "7")
        page.click("#share-create")
        url = page.locator("#share-url").input_value()
        assert re.fullmatch(re.escape(server.url) + r"/s/psl_[A-Za-z0-9_-]{43}", url), url
        shot(page, "share-1-created")

        # The reviewer: another browser profile, no cookies, nothing installed.
        reviewer = browser.new_context(viewport={"width": 1400, "height": 1000})
        anon = reviewer.new_page()
        errors: list[str] = []
        anon.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        anon.on("request", lambda r: requests.append(r.url))
        anon.goto(url)
        state = wait_done(anon)
        assert state["error"] is None, state
        report = state["report"]
        assert isinstance(report, dict)
        assert report["verified"] is True, report["verdict"]
        expect(anon.locator("#verdict")).to_have_text(re.compile(r"^VERIFIED: order "))
        expect(anon.locator("#inputs")).to_be_hidden()
        expect(anon.locator('[data-fact="Order"]')).to_have_text(row.order_id)
        anon.wait_for_timeout(500)  # the first video frame
        shot(anon, "share-2-opened-anonymously")
        # Only the link's own three resources, from the portal itself.
        fetched = {r.removeprefix(server.url) for r in requests if not r.startswith("blob:")}
        secret_path = url.removeprefix(server.url)
        assert fetched == {secret_path, f"{secret_path}/trust.json", f"{secret_path}/bundle.zip"}
        assert errors == []

        # A reviewer whose browser prefers Simplified Chinese gets the page in zh-CN.
        reviewer_zh = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        anon_zh = reviewer_zh.new_page()
        anon_zh.goto(url)
        state = wait_done(anon_zh)
        assert state["error"] is None, state
        expect(anon_zh.locator("#verdict")).to_have_text(re.compile(r"^已验证：订单 "))
        expect(anon_zh.locator("#share-note")).to_contain_text("商家与您分享了这个片段")
        anon_zh.wait_for_timeout(500)
        shot(anon_zh, "share-zh-2-opened-anonymously")

        actions = [e.action for e in portal.accounts.custody(row.clip_id, limit=10)]
        assert "share-open" in actions
        assert "share-bundle" in actions
        assert "share-create" in actions

        # The merchant revokes it on the clip page; the reviewer's next visit gets nothing.
        page.goto(f"{server.url}/clips/{row.clip_id}")
        page.locator("#shares button[id^=share-revoke-]").first.click()
        expect(page.locator("#shares")).to_contain_text("revoked")
        shot(page, "share-3-revoked")
        gone = anon.goto(url)
        assert gone is not None
        assert gone.status == 404
        gone_zh = anon_zh.goto(url)
        assert gone_zh is not None
        assert gone_zh.status == 404
        expect(anon_zh.locator("main")).to_contain_text("此分享链接无效")
        shot(anon_zh, "share-zh-3-revoked-link")
        reviewer_zh.close()
        merchant.close()
        reviewer.close()


def test_served_verify_page_uses_the_portal_trust_file(
    browser: Browser, portal: Portal, tmp_path: Path
) -> None:
    row = portal.clip
    bundle = tmp_path / "bundle.zip"
    portal.app.export(row.clip_id, bundle)
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.url + "/verify")
        page.click("#trust-portal")
        expect(page.locator("#trust-name")).to_contain_text("/trust.json")
        page.set_input_files("#bundle-input", str(bundle))
        state = wait_done(page)
        report = state["report"]
        assert isinstance(report, dict)
        assert report["verified"] is True, report
        shot(page, "verify-1-verified")

        # One byte of the video changed: the page names the fragment and the check.
        tampered = tmp_path / "tampered.zip"
        data = bytearray(bundle.read_bytes())
        at = data.find(b"mdat", len(data) // 2)
        data[at + 100] ^= 0x01
        tampered.write_bytes(bytes(data))
        page.goto(server.url + "/verify")
        page.click("#trust-portal")
        expect(page.locator("#trust-name")).to_contain_text("/trust.json")
        page.set_input_files("#bundle-input", str(tampered))
        report = wait_done(page)["report"]
        assert isinstance(report, dict)
        assert report["verified"] is False
        # As `packseal verify` says: the video no longer matches SHA256SUMS (zip), and
        # the changed fragment is named (media).
        with pytest.raises(NotVerified) as caught:
            verify_bundle(tampered, portal.app.trust_file())
        cli = [c.name for c in caught.value.report.checks if c.ok is False]
        assert cli == ["zip", "media"], cli
        assert report["first_failed"] == "zip", report
        expect(page.locator('tr[data-check="zip"] td.mark')).to_have_text("FAILED")
        expect(page.locator('tr[data-check="media"] td.mark')).to_have_text("FAILED")
        shot(page, "verify-2-tampered")
        context.close()
