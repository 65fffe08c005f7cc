"""The hub's fleet page and cross-station search in the system Chromium, signed in
through the portal's login form.

Screenshots go to test-artifacts/hub/ (gitignored): look at them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from packseal.config import HubLinkConfig
from packseal.hub.pusher import Pusher
from recorder.clock import SystemClock
from storage import PacksealError, Store
from storage.entries import Segment, from_bytes
from tests import chromium
from tests.chromium import launch
from tests.packseal.hub.conftest import copy_recorded, station_app
from tests.recording import record_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = chromium.ARTIFACTS / "hub"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(ARTIFACTS) as b:
        yield b


def _push(app: Any, url: str, token: str) -> None:
    pusher = Pusher(app.store, HubLinkConfig(url=url, token=token), token, SystemClock())
    try:
        pusher.cycle()
    finally:
        pusher.close()


def test_fleet_page_and_search_across_stations(
    browser: Browser, recorded: Path, tmp_path: Path, start_hub: Any
) -> None:
    data, root = copy_recorded(recorded, tmp_path / "st")
    hub = start_hub(root)
    one = station_app(data, root, "station-01")
    _push(one, hub.url, hub.hub.mirror.enrol("station-01", 0).token)
    two = station_app(tmp_path / "st2", root, "station-02")
    record_demo(tmp_path / "st2", orders=1, seed=4, app=two)
    token_two = hub.hub.mirror.enrol("station-02", 0).token
    _push(two, hub.url, token_two)
    hub.hub.mirror.enrol("station-03", 0)  # enrolled, never pushed: an alarm
    # station-02's log rewritten and re-signed: refused, kept, raised on the page
    entries = [from_bytes(d) for _, d in two.store.entries()]
    i = next(n for n, e in enumerate(entries) if isinstance(e, Segment))
    entries[i] = dataclasses.replace(entries[i], dropped=9)  # type: ignore[call-arg]
    forged = Store.open(
        f"sqlite:///{tmp_path / 'f.db'}", tmp_path / "fb", two.store.origin, create=True
    )
    forged.append([*entries, dataclasses.replace(entries[i], seq=99_999)])  # type: ignore[call-arg]
    forged.sign_checkpoint(two.station_signer, 0)
    from storage.outbox import Outbox

    Outbox(forged).acked(two.store.size(), 0)
    pusher = Pusher(forged, HubLinkConfig(url=hub.url, token=token_two), token_two, SystemClock())
    with pytest.raises(PacksealError):
        pusher._entries()
    pusher.close()
    forged.close()

    hub.hub.accounts.add_user("alice", "merchant", "correct horse battery", at_ms=0)
    context = browser.new_context(viewport={"width": 1400, "height": 700})
    page = context.new_page()
    page.goto(hub.url + "/hub")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fhub$"))
    page.fill("input[name=name]", "alice")
    page.fill("input[name=password]", "correct horse battery")
    page.click("form button[type=submit]")
    expect(page).to_have_url(hub.url + "/hub")
    expect(page.locator("h1")).to_have_text("Fleet: 3 stations")
    expect(page.locator(".who .user")).to_have_text("alice")
    expect(page.locator("text=compliance mode").first).to_be_visible()
    expect(page.locator(".alarm").filter(has_text="misbehaviour").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "fleet.png", full_page=True)

    day = __import__("datetime").datetime.fromtimestamp(one.store.clips()[0].started_ms / 1000)
    page.click("nav >> text=Search all stations")
    page.fill("input[name=date]", day.date().isoformat())
    page.click("button.primary")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(len(one.store.clips()) + len(two.store.clips()))
    expect(page.locator("td", has_text="station-02").first).to_be_visible()
    expect(page.locator("td", has_text="station-01").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "search.png", full_page=True)
    order = one.store.clips()[0].order_id
    page.fill("input[name=date]", "")
    page.fill("input[name=order]", order)
    page.click("button.primary")
    expect(rows).to_have_count(1)
    context.close()
    one.close()
    two.close()
