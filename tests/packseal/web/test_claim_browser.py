"""A claim check from the clip page in the system Chromium, through a real portal: the
merchant chooses a buyer's photo, submits, and reads the report page (en and zh-CN).
Screenshots go to test-artifacts/web/ (gitignored): look at them."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from packseal.web import ServerThread
from tests.chromium import launch
from tests.packseal.web.conftest import PASSWORD, Portal
from tests.packseal.web.test_browser import ARTIFACTS
from tests.verifier.claim import scene

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(ARTIFACTS) as b:
        yield b


def _login(page: Page, url: str, next_path: str) -> None:
    page.goto(f"{url}/login?next={next_path}")
    page.fill("input[name=name]", "merchant")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_claim_photo_uploaded_on_the_clip_page(
    browser: Browser, portal: Portal, locale: str
) -> None:
    row = portal.clip
    face, mask = scene.product(row.order_id)
    photo, _ = scene.photo(face, mask, crack=True)
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale=locale)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, server.url, f"/clips/{row.clip_id}")
        expect(page.locator("#claim")).to_be_visible()
        page.set_input_files(
            "#claim-photos",
            files=[
                {"name": "buyer-cracked.jpg", "mimeType": "image/jpeg", "buffer": photo},
                {"name": "other.jpg", "mimeType": "image/jpeg", "buffer": scene.unrelated()},
            ],
        )
        page.locator("#claim").screenshot(path=ARTIFACTS / f"claim-portal-{locale}-form.png")
        # The form's POST answers once the check has run: under a load of 30-40 on two
        # cores that took over the click's default 30 s (it waits for the navigation).
        page.click("#claim-run", timeout=180_000)
        page.wait_for_url(re.compile(r"/claims/[0-9a-f]{16}$"), timeout=180_000)
        expect(page.locator("#photo-1")).to_contain_text("buyer-cracked.jpg")
        words = {"en": "Differs from the sealed footage:", "zh-CN": "与封存视频不同："}
        expect(page.locator("#photo-1")).to_contain_text(words[locale])
        # The packer's hand covers a corner of the card in every sealed frame: the page
        # says how much of the product in the photo was not compared.
        unseen = {"en": "of the product in the photo was not compared", "zh-CN": "未比对"}
        expect(page.locator("#unseen-1")).to_contain_text(unseen[locale])
        # Another product: not found, and why (the closest frame and its reason), in the
        # page's language, not claim.json's English.
        why = {
            "en": r"^the closest, segment \d+/\d+ frame \d+: \w.+$",
            "zh-CN": r"^最接近的是分段 \d+/\d+ 第 \d+ 帧：[^A-Za-z]+$",
        }
        expect(page.locator("#why-not-2")).to_have_text(re.compile(why[locale]))
        report = page.locator("#claim-report")
        expect(report).to_be_visible()
        assert page.evaluate("document.getElementById('claim-report').naturalWidth") > 500
        assert page.evaluate("document.querySelector('.claim-strip').naturalWidth") > 500
        pdf = page.locator("#claim-pdf").get_attribute("href")
        assert pdf is not None
        assert context.request.get(server.url + pdf).body().startswith(b"%PDF")
        page.screenshot(path=ARTIFACTS / f"claim-portal-{locale}.png", full_page=True)
        page.goto(f"{server.url}/clips/{row.clip_id}")
        expect(page.locator("table.custody")).to_contain_text("claim-check")
        expect(page.locator("#claim-list a").first).to_be_visible()
        # The Evidence card offers the kept checks for the bundle: the chosen report rides in.
        choice = page.locator("#claim-export-choice")
        expect(choice).to_be_visible()
        assert re.fullmatch(r"[0-9a-f]{16}", choice.input_value())
        page.locator("#claim-export").locator("xpath=..").screenshot(
            path=ARTIFACTS / f"claim-export-{locale}.png"
        )
        with page.expect_download() as got:
            page.click("#claim-export-bundle")
        with zipfile.ZipFile(got.value.path()) as z:
            assert "claim/claim.json" in z.namelist()
            assert json.loads(z.read("claim/claim.json"))["clip_id"] == row.clip_id
        assert got.value.suggested_filename.endswith("-claim.zip")
        assert errors == []
        context.close()
