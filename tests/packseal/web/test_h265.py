"""An H.265 stream-copy clip (an IP camera's, as sent) in the system Chromium, which cannot
play H.265: the verify page verifies it as the CLI does and says why the player is
black; the portal says so beside its player and its upload copy is H.264."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import Browser

from packseal.app import App
from packseal.web import ServerThread
from storage.entries import Clip
from tests.chromium import launch
from tests.packseal.web.conftest import PASSWORD, make_portal
from tests.packseal.web.test_browser import ARTIFACTS
from tests.packseal.web.test_verify_page import VerifyPage, cli, wait_for
from tests.rtspcam import record_h265_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "most browsers on PCs cannot play H.265"


@pytest.fixture(scope="module")
def h265(tmp_path_factory: pytest.TempPathFactory) -> tuple[App, Clip]:
    return record_h265_clip(tmp_path_factory.mktemp("h265"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(ARTIFACTS) as b:
        yield b


def test_the_verify_page_verifies_an_h265_bundle_and_says_why_it_cannot_play_it(
    browser: Browser, h265: tuple[App, Clip], tmp_path: Path
) -> None:
    app, clip = h265
    bundle = app.export(clip.clip_id, tmp_path / "h265.zip").path
    trust = app.trust_file()
    expected = cli(bundle, trust)
    assert expected.verified
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    got = VerifyPage(page).run(bundle, trust)
    assert (got["verified"], got["first_failed"]) == (True, None)
    assert [c["ok"] for c in got["checks"] if c["name"] == "media"] == [True]
    assert page.evaluate(
        """() => document.createElement("video").canPlayType('video/mp4; codecs="hvc1"')"""
    ) == ""  # fmt: skip
    wait_for(page, "!document.getElementById('player-note').hidden")
    assert NOTE in page.inner_text("#player-note")
    page.screenshot(path=ARTIFACTS / "verify-page-h265.png", full_page=True)
    page.close()


def test_the_portal_says_an_h265_clip_may_not_play_and_its_upload_copy_is_h264(
    browser: Browser, h265: tuple[App, Clip], tmp_path: Path
) -> None:
    app, clip = h265
    portal = make_portal(app)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    with ServerThread(portal.web, "127.0.0.1", 0) as server:
        page.goto(f"{server.url}/login?next=/clips/{clip.clip_id}")
        page.fill("input[name=name]", "merchant")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#codec-note")
        assert "cannot play H.265" in page.inner_text("#codec-note")
        page.evaluate("document.getElementById('player').muted = true")
        page.evaluate("document.getElementById('player').play().catch(() => {})")
        page.wait_for_function("() => document.getElementById('player').error !== null")
        page.screenshot(path=ARTIFACTS / "portal-clip-h265.png", full_page=True)
        with page.expect_download() as info:
            page.click(f"a[href='/clips/{clip.clip_id}/marketplace.mp4']")
        copy = tmp_path / "upload.mp4"
        info.value.save_as(copy)
    page.close()
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(copy)],
        capture_output=True,
        text=True,
    ).stderr
    assert "Video: h264" in probe, probe
