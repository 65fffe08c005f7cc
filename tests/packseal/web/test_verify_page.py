"""The verify page against `packseal verify`: the differential test.

Every honest bundle and every attack vector of the suite (plain and anchored) goes through
both :func:`verifier.verify.verify_bundle` and the page in one headless Chromium; the
verdict (verified or not) and the name of the first failing check must agree. A case the
page cannot judge is listed in :data:`CANNOT_JUDGE` with its reason, and the test checks
that the page then says "not checked here" and never "passed" for that check.

What the page cannot check, and how its verdict differs:
- ``c2pa``: no browser library validates C2PA Content Credentials. With a trust file that
  requires them (``c2pa_roots``), the page marks ``c2pa`` "not checked here — run
  `packseal verify`" and its verdict is NOT FULLY VERIFIED HERE (never VERIFIED), even
  when every other check passed. A bundle without the C2PA clip still fails there, as in
  the CLI (its absence needs no library).
- ``time`` is checked in full (pkijs: CMS signature, chain to the trust file's TSA roots
  valid at genTime, nonce, EKU, imprint, footage times against genTime); for its vectors
  the page's message must also match the CLI's (the attack's pattern).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from storage import TrustFile
from tests.anchored import Anchored
from tests.chromium import launch, record_stall
from tests.packseal.web.test_browser import ARTIFACTS
from tests.verifier.attacks import Attack
from tests.verifier.attacks_bundle import BUNDLE_ATTACKS, add_claim
from tests.verifier.conftest import (  # noqa: F401
    AttackContext,
    TwoViews,
    anchored,
    attack_ctx,
    bundles,
    clips,
    derived_bundle,
    excerpt_bundle,
    honest_bundle,
    other_bundle,
    recording,
    two_views,
)
from verifier._errors import NotVerified
from verifier.verify import CHECKS, Report, verify_bundle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = Path(__file__).resolve().parents[3] / "packseal" / "web" / "verify.html"
SHOTS = Path("/work/notes/shots")

# Attack vectors whose first failing check in the CLI needs what the page cannot do.
CANNOT_JUDGE = {
    "append a free box to the C2PA clip": "c2pa: Content Credentials validation",
    "append a skip box to the C2PA clip": "c2pa: Content Credentials validation",
    "the other order's C2PA clip": "c2pa: Content Credentials validation",
    "a second C2PA manifest box": "c2pa: Content Credentials validation",
    "the sealed clip without Content Credentials as the C2PA clip": "c2pa: Content Credentials",
    "flip a byte inside the C2PA manifest": "c2pa: Content Credentials validation",
    "C2PA signed with the attacker's own CA": "c2pa: Content Credentials validation",
    "C2PA assertion names another log index": "c2pa: Content Credentials validation",
}


PAGE_HAS_NO_QR_DECODER = {"sheet from another order"}


@dataclass(frozen=True)
class Outcome:
    verified: bool
    first_failed: str | None
    checks: dict[str, bool | None]


def cli_report(bundle: Path, trust: TrustFile) -> Report:
    try:
        return verify_bundle(bundle, trust).report
    except NotVerified as e:
        return e.report


def cli(bundle: Path, trust: TrustFile) -> Outcome:
    report = cli_report(bundle, trust)
    first = next((c.name for c in report.checks if c.ok is False), None)
    return Outcome(report.verified, first, {c.name: c.ok for c in report.checks})


def wait_for(page: Page, condition: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` through the DevTools protocol: the page's CSP forbids eval, which
    ``wait_for_function`` needs (and the page must keep that CSP under test)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({condition})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}; the page: {_where(page)}")
        page.wait_for_timeout(10)


def _where(page: Page) -> dict[str, Any]:
    """What a timed-out test needs to tell a hung check from a pick that never arrived."""
    where: dict[str, Any] = page.evaluate(
        """() => { const a = window.packsealVerify || {};
        const text = (id) => document.getElementById(id)?.textContent ?? null;
        return {state: a.state, runs: a.runs, error: a.error, status: text('status'),
          trust: text('trust-name'), bundle: text('bundle-name'), steps_done: a.timings}; }"""
    )
    return where


class VerifyPage:
    """The page, opened from its file, driven as a reviewer would: paste, pick, read."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.submitted: tuple[Path, TrustFile, int | None] | None = None

    def run(
        self, bundle: Path, trust: TrustFile, buffer_bytes: int | None = None
    ) -> dict[str, Any]:
        self.submit(bundle, trust, buffer_bytes)
        return self.report()

    def submit(self, bundle: Path, trust: TrustFile, buffer_bytes: int | None = None) -> None:
        """Open the page, paste the trust file and pick the bundle; the page verifies it
        while the caller does something else (`packseal verify` on it, say)."""
        self.submitted = (bundle, trust, buffer_bytes)
        page = self.page
        page.goto(PAGE.as_uri())
        wait_for(page, "window.packsealVerify && window.packsealVerify.state === 'ready'")
        if buffer_bytes is not None:  # the clip reader's buffer: small, to cross its edges
            page.evaluate("n => { window.packsealVerify.bufferBytes = n; }", buffer_bytes)
        page.fill("#trust-text", trust.to_bytes().decode())
        page.click("#trust-paste")
        page.set_input_files("#bundle-input", str(bundle))

    def report(self) -> dict[str, Any]:
        """The report of the bundle :meth:`submit` gave the page, once it is done."""
        page = self.page
        done = "window.packsealVerify.runs >= 1 && window.packsealVerify.state === 'done'"
        try:
            wait_for(page, done)
        except AssertionError as stalled:
            # The page has sat in "running" for 60 s, in CI only and rarely (twice in ~8
            # full runs, both cores busy; never in 5 runs of this test alone under load):
            # kept with where it stopped (tests/chromium.py, shown after the run), then the
            # same bundle once more on a fresh page. A second stall fails the test.
            assert self.submitted is not None
            record_stall(page, self.submitted[0].name, str(stalled))
            self.submit(*self.submitted)
            wait_for(page, done)
        result: dict[str, Any] = page.evaluate(
            """() => { const a = window.packsealVerify; const r = a.report;
            return {error: a.error, report: r && {verified: r.verified,
              first_failed: r.first_failed, verdict: r.verdict,
              unchecked_here: r.unchecked_here, facts: r.facts, whole_hasher: r.whole_hasher,
              checks: r.checks.map(c => ({name: c.name, ok: c.ok, message: c.message}))}}; }"""
        )
        assert result["error"] is None, result["error"]
        return dict(result["report"])


@pytest.fixture(scope="module")
def verify_page() -> Iterator[VerifyPage]:
    with launch(ARTIFACTS) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Opened from its file, the page must fetch nothing at all.
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "blob:")) else errors.append(r.url),
        )
        yield VerifyPage(page)
        assert not errors, errors


def agree(name: str, cli_out: Outcome, page: dict[str, Any]) -> None:
    assert page["verified"] == cli_out.verified, (name, cli_out, page)
    assert page["first_failed"] == cli_out.first_failed, (name, cli_out, page)


def test_honest_bundles_agree(
    verify_page: VerifyPage,
    attack_ctx: AttackContext,  # noqa: F811
    excerpt_bundle: Path,  # noqa: F811
    derived_bundle: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    trust = attack_ctx.recording.app.trust_file()
    claimed = tmp_path / "claimed.zip"
    shutil.copy(attack_ctx.bundle, claimed)
    add_claim(claimed, attack_ctx)
    for name, bundle in (
        ("honest", attack_ctx.bundle),
        ("other order", attack_ctx.other),
        ("excerpt", excerpt_bundle),
        ("derived copy", derived_bundle),
        ("with a claim report", claimed),
    ):
        expected = cli(bundle, trust)
        got = verify_page.run(bundle, trust)
        agree(name, expected, got)
        agree(f"{name}, 4 kB reader buffer", expected, verify_page.run(bundle, trust, 4096))
        if name != "derived copy":
            # The sealed clip's whole-video SHA-256 runs in WebAssembly under the page's
            # CSP, not in the slower JavaScript fallback (bench/README.md).
            assert got["whole_hasher"] == "webassembly", (name, got["whole_hasher"])
            assert got["verified"], got
            assert got["verdict"].startswith("VERIFIED"), got["verdict"]
        facts = got["facts"]
        assert facts["order_id"] == attack_ctx.clips[0 if name != "other order" else 1].order_id
        claim = next(c for c in got["checks"] if c["name"] == "claim")
        cli_claim = cli_report(bundle, trust).check("claim")
        assert (claim["ok"], claim["message"]) == (True, cli_claim.message), name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    verify_page.page.screenshot(path=ARTIFACTS / "verify-claim-section.png", full_page=True)


def test_a_trust_file_with_two_current_keys_for_one_origin_is_refused(
    verify_page: VerifyPage,
    attack_ctx: AttackContext,  # noqa: F811
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from storage import Ed25519Signer

    trust = attack_ctx.recording.app.trust_file()
    doc = json.loads(trust.to_bytes())
    origin = doc["logs"][0]["origin"]
    other = Ed25519Signer(origin, Ed25519PrivateKey.generate())
    doc["logs"].append({"origin": origin, "vkey": other.verifier.vkey, "station": "station-01"})
    page = verify_page.page
    page.goto(PAGE.as_uri())
    wait_for(page, "window.packsealVerify && window.packsealVerify.state === 'ready'")
    page.fill("#trust-text", json.dumps(doc))
    page.click("#trust-paste")
    page.set_input_files("#bundle-input", str(attack_ctx.bundle))
    wait_for(page, "window.packsealVerify.runs >= 1 && window.packsealVerify.state === 'done'")
    error = page.evaluate("() => window.packsealVerify.error")
    assert error is not None
    assert f"log '{origin}' has 2 keys that are not revoked" in error["message"], error


def test_plain_attacks_agree(
    verify_page: VerifyPage,
    attack_ctx: AttackContext,  # noqa: F811
    tmp_path: Path,
) -> None:
    plain = [a for a in BUNDLE_ATTACKS if a.base == "plain"]
    disagreements = _run_attacks(verify_page, plain, attack_ctx, tmp_path)
    assert not disagreements, json.dumps(disagreements, indent=2)


def test_anchored_bundles_and_attacks(
    verify_page: VerifyPage,
    anchored: Anchored,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The honest anchored bundle: everything the page can check passes, its RFC 3161
    # time-stamp included, and C2PA, which it cannot check, is "not checked here", so it
    # never says VERIFIED.
    expected = cli(anchored.bundle, anchored.trust)
    assert expected.verified
    got = verify_page.run(anchored.bundle, anchored.trust)
    assert got["verified"] is False, got
    assert got["first_failed"] is None, got
    assert got["unchecked_here"] == ["c2pa"], got
    time_check = next(c for c in got["checks"] if c["name"] == "time")
    assert time_check["ok"] is True, time_check
    assert re.search(
        r"existed before \S+ per O=packseal tests,CN=packseal test TSA \(", time_check["message"]
    )
    assert got["verdict"].startswith("NOT FULLY VERIFIED HERE"), got["verdict"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    verify_page.page.screenshot(path=ARTIFACTS / "verify-3-anchored.png", full_page=True)
    assert got["facts"]["witnessed"], got["facts"]

    attacks = [a for a in BUNDLE_ATTACKS if a.base == "anchored"]
    disagreements = _run_attacks(verify_page, attacks, anchored, tmp_path)
    assert not disagreements, json.dumps(disagreements, indent=2)


def test_two_view_bundles_and_attacks(
    verify_page: VerifyPage,
    two_views: TwoViews,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 12: a clip filmed by two cameras. The page checks every view as the CLI does
    (each view's video against its signed init and segments, its manifest range, its
    timeline), shows each view's result and player, and agrees with the CLI on every
    two-view attack vector."""
    trust = two_views.trust
    for name, bundle in (
        ("two views", two_views.bundle),
        ("two views, other order", two_views.other),
        ("two views, excerpt", two_views.excerpt),
    ):
        expected = cli(bundle, trust)
        assert expected.verified, (name, expected)
        got = verify_page.run(bundle, trust)
        agree(name, expected, got)
        agree(f"{name}, 4 kB reader buffer", expected, verify_page.run(bundle, trust, 4096))
        assert [v["view"] for v in got["facts"]["views"]] == ["top", "side"], got["facts"]
        assert [v["video"] for v in got["facts"]["views"]] == ["clip.mp4", "clip.side.mp4"]
    page = verify_page.page
    got = verify_page.run(two_views.bundle, trust)
    media = next(c for c in got["checks"] if c["name"] == "media")
    assert media["message"].startswith("2 views; top (clip.mp4): all "), media
    assert "side (clip.side.mp4): all " in media["message"], media
    captions = page.eval_on_selector_all(
        ".view-caption", "els => els.map(e => [e.dataset.view, e.className, e.textContent])"
    )
    assert [(v, c) for v, c, _ in captions] == [
        ("top", "view-caption ok"),
        ("side", "view-caption ok"),
    ], captions
    assert page.inner_text('dd[data-fact="Views"]') == "top (clip.mp4), side (clip.side.mp4)"
    # Both players hold their view's video: the side one plays beside the primary's.
    page.evaluate("document.querySelectorAll('video').forEach(v => { v.muted = true; })")
    page.evaluate("document.getElementById('player').play()")
    wait_for(
        page,
        "[...document.querySelectorAll('video')].length === 2 && "
        "[...document.querySelectorAll('video')].every(v => v.readyState >= 2 && "
        "v.currentTime > 0.5 && v.videoWidth === 640)",
    )
    page.evaluate("document.querySelectorAll('video').forEach(v => v.pause())")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "verify-two-views.png", full_page=True)
    # A view that fails says so under its own name.
    dropped = next(
        a for a in BUNDLE_ATTACKS if a.name == "two views: one fragment of the side view dropped"
    )
    target = tmp_path / "dropped.zip"
    shutil.copy(two_views.bundle, target)
    dropped.tamper(target, two_views)
    bad = verify_page.run(target, trust)
    assert bad["first_failed"] == "media", bad
    captions = page.eval_on_selector_all(
        ".view-caption", "els => els.map(e => [e.dataset.view, e.className])"
    )
    assert captions == [["top", "view-caption ok"], ["side", "view-caption bad"]], captions
    page.screenshot(path=SHOTS / "verify-two-views-tampered.png", full_page=True)

    attacks = [a for a in BUNDLE_ATTACKS if a.base == "twoview"]
    assert len(attacks) >= 8
    disagreements = _run_attacks(verify_page, attacks, two_views, tmp_path)
    assert not disagreements, json.dumps(disagreements, indent=2)


def _run_attacks(
    verify_page: VerifyPage, attacks: list[Attack], ctx: Any, tmp_path: Path
) -> list[dict[str, Any]]:
    out = []
    for i, attack in enumerate(attacks):
        target = tmp_path / f"attack-{i}.zip"
        shutil.copy(ctx.bundle, target)
        attack.tamper(target, ctx)
        trust = ctx.trust if attack.trust is None else attack.trust(ctx)
        # The CLI checks the bundle while the page does (~0.1 s each, on two cores).
        verify_page.submit(target, trust)
        expected = cli(target, trust)
        got = verify_page.report()
        if attack.name in PAGE_HAS_NO_QR_DECODER:
            # The CLI decodes the sheet's QR code; the page cannot, and must say so.
            facts = next(c for c in got["checks"] if c["name"] == "facts")
            if "the sheet's QR code was not checked here" not in facts["message"]:
                out.append({"attack": attack.name, "page": got})
            continue
        assert not got["verified"], (attack.name, got)
        if attack.name in CANNOT_JUDGE:
            # The CLI fails the vector's check; the page must not pass it.
            what = CANNOT_JUDGE[attack.name].split(":")[0]
            ok = {c["name"]: c["ok"] for c in got["checks"]}[what]
            # What the page does fail, the CLI fails too (a forged fork with a time-stamp
            # also lacks the witness's cosignature: the page stops there).
            cli_failed = {n for n, v in expected.checks.items() if v is False}
            if ok is not None or (got["first_failed"] not in (None, *cli_failed)):
                out.append({"attack": attack.name, "cli": expected.first_failed, "page": got})
            continue
        if attack.check == "time" and attack.base == "anchored":
            # The page's own RFC 3161 check must say what the CLI's says.
            page_time = next(c for c in got["checks"] if c["name"] == "time")
            if not re.search(attack.message, page_time["message"]):
                out.append({"attack": attack.name, "pattern": attack.message, "page": page_time})
        if got["first_failed"] != expected.first_failed:
            out.append(
                {
                    "attack": attack.name,
                    "cli": expected.first_failed,
                    "page": got["first_failed"],
                    "checks": got["checks"],
                }
            )
    return out


def test_plain_attacks_cover_every_check_the_page_judges(attack_ctx: AttackContext) -> None:  # noqa: F811
    # The differential test above is only as strong as the vectors' spread.
    checks = {
        a.check
        for a in BUNDLE_ATTACKS
        if a.name not in CANNOT_JUDGE and a.name not in PAGE_HAS_NO_QR_DECODER
    }
    assert set(CHECKS) <= checks


def test_the_page_speaks_the_browsers_language(
    verify_page: VerifyPage,
    attack_ctx: AttackContext,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A browser that prefers Simplified Chinese gets the page in zh-CN (as the portal
    # follows Accept-Language); check messages stay English, as the CLI's do.
    trust = attack_ctx.recording.app.trust_file()
    flip = next(a for a in BUNDLE_ATTACKS if a.name == "flip a byte in a fragment")
    tampered = tmp_path / "tampered.zip"
    shutil.copy(attack_ctx.bundle, tampered)
    flip.tamper(tampered, attack_ctx)
    browser = verify_page.page.context.browser
    assert browser is not None
    for locale, shots in (("zh-CN", "zh"), ("en-US", "en")):
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        try:
            page = VerifyPage(context.new_page())
            got = page.run(attack_ctx.bundle, trust)
            assert got["verified"], got
            p = page.page
            assert p.evaluate("() => document.documentElement.lang") == locale.split("-US")[0]
            zip_mark = p.inner_text('#checks-body tr[data-check="zip"] td.mark')
            if locale == "zh-CN":
                assert got["verdict"].startswith("已验证：订单 "), got["verdict"]
                assert p.inner_text("h1") == "验证打包视频证据包"
                assert zip_mark == "通过"
                assert p.inner_text("#facts h3") == "以上检查已证明"
            else:
                assert got["verdict"].startswith("VERIFIED: order "), got["verdict"]
                assert zip_mark == "passed"
            p.screenshot(path=ARTIFACTS / f"verify-{shots}-1-verified.png", full_page=True)
            bad = page.run(tampered, trust)
            assert bad["first_failed"] == "media", bad
            expected = "未通过验证：" if locale == "zh-CN" else "NOT VERIFIED: "
            assert bad["verdict"].startswith(expected), bad["verdict"]
            p.screenshot(path=ARTIFACTS / f"verify-{shots}-2-tampered.png", full_page=True)
        finally:
            context.close()


def test_a_page_that_stalls_is_kept_and_run_again(
    verify_page: VerifyPage,
    attack_ctx: AttackContext,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The first wait for the report gives up at once, as a page stuck in "running" does
    # after 60 s: the stall is kept (where the page was, a screenshot) and the bundle is
    # checked again on a fresh page.
    import tests.chromium
    import tests.packseal.web.test_verify_page as module

    stalls = tmp_path / "stalls.jsonl"
    monkeypatch.setattr(tests.chromium, "STALLS", stalls)
    real = module.wait_for
    gave_up: list[str] = []

    def impatient(page: Page, condition: str, timeout: float = 60.0) -> None:
        if "runs >= 1" in condition and not gave_up:
            gave_up.append(condition)
            real(page, "false", 0.0)  # times out, wherever the page is
        real(page, condition, timeout)

    monkeypatch.setattr(module, "wait_for", impatient)
    got = verify_page.run(attack_ctx.bundle, attack_ctx.recording.app.trust_file())
    assert got["verified"], got
    (kept,) = [json.loads(line) for line in stalls.read_text().splitlines()]
    assert kept["what"] == attack_ctx.bundle.name
    assert "'steps_done': {" in kept["why"], kept
    assert "test_a_page_that_stalls_is_kept_and_run_again" in kept["test"]
    assert Path(kept["screenshot"]).stat().st_size > 0
