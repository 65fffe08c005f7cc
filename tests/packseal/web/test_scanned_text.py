"""Any text a QR code can carry, sealed into a clip entry, through every face that shows it.

QR codes carry arbitrary UTF-8, and the clip entry records what was read exactly, signed,
forever. A U+2029 in it made Pillow's text layout raise, so export, replay and every
portal download of that clip failed. Each example seals a clip (the real sealer, the
station's key) whose order id, waybill and scans hold the text, then: export (the real
sheet, PNG and PDF), verify, the README, the clip and list pages and the JSON API, and
``packseal clips``. Shown text is one safe line; machine output is the exact text.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import zipfile
from functools import partial
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from packseal.app import App
from packseal.cli import main
from recorder.clock import ManualClock
from recorder.controller import ClipClosed, OpenClip
from recorder.sealer import ClipPlan, Sealer
from storage.entries import MAX_SCAN_TEXT, Clip, Scan, Segment, parse_as
from storage.text import printable
from tests.packseal.web._client import TestClient
from tests.packseal.web.conftest import Portal, make_portal, session_for
from tests.recording import SIZE
from verifier.frames import pick_keyframes
from verifier.replay import replay
from verifier.sheet import make_sheet
from verifier.verify import verify_bundle

NASTY = (
    "SO-1\u2029X",  # paragraph separator: made the sheet's layout raise
    "SO-1\u2028X\nY\r\tZ\x00\x1b[31m",  # line separator, controls, a terminal escape
    "\u202eSO-2026-000001\u202c",  # a bidi override: shows the id backwards
    "Z\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308",  # zalgo
    "订单-2026-000001 包裹📦🚚 👨\u200d👩\u200d👧",  # CJK, emoji, a ZWJ sequence
    "[bold red]rich markup[/] <script>alert(1)</script> {{ 7*7 }} \\u2029",
    "\ufeff\ufffe\U000e0001\U0010ffff\ud7ff",  # BOM, noncharacter, tag, private use
)
# Scan texts: anything UTF-8 can hold (no lone surrogates: a decoder never yields them).
TEXTS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=600)
# What must never appear in shown text: it breaks lines or layout, or reorders text.
_BREAKING = {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}


def _shown_safely(shown: str) -> None:
    bad = [c for c in shown if unicodedata.category(c) in _BREAKING and c not in "\n"]
    assert not bad, f"unsafe characters shown: {[hex(ord(c)) for c in bad]}"


@pytest.fixture
def sealed_store(private_copy: App) -> tuple[App, Portal, list[Segment]]:
    """The recording's copy, a portal over it, and the first three segments of its run."""
    store = private_copy.store
    segments = [parse_as(Segment, store.entry(s.idx)) for s in store.segments(0, 2)]
    return private_copy, make_portal(private_copy, real_sheet=True), segments


def _seal(app: App, segments: list[Segment], text: str, n: int) -> Clip:
    """A clip entry as the station seals it, holding ``text`` wherever a scan can put it."""
    t0, t1 = segments[0].start, segments[-1].end
    order = text[:512]  # what the entry allows an order id to be
    scans = (
        Scan(t0 + 500, order, "order", "QRCode", "camera", (10, 10, 40, 40)),
        Scan(t0 + 1500, text, "other", "QRCode", "camera", (20, 20, 40, 40)),
        Scan(t0 + 2500, order, "tracking", "keyboard", "gun", None),
    )
    clip = OpenClip(f"CLIPTEXT{n:04d}", order, t0 + 500, scans, tracking_ids=(order,))
    plan = ClipPlan(ClipClosed(clip, t1 - 100, "stop", "sealed"), segments[0].run, t0, t1, 0, 0)
    clock = ManualClock(start_ms=t1 + 1000)
    sealer = Sealer(
        app.store, app.station_signer, clock, station="station-01", operator="", zone=dt.UTC
    )
    video = parse_as(Clip, app.store.entry(app.store.clips()[-1].idx)).video
    return sealer.seal_clip(plan, segments, video)


class _Case:
    n = 0


def _check_everything(app: App, portal: Portal, clip: Clip, text: str, tmp: Path) -> None:
    order = clip.order_id
    out = tmp / f"{clip.clip_id}.zip"
    path = Path(tmp / "keyframes.mp4")
    store = app.store
    with path.open("wb") as f:
        f.write(store.read_blob(clip.init))
        for ref in clip.segments:
            f.write(store.read_blob(ref.sha256))
    keyframes = pick_keyframes(clip, path, max_frames=2)
    app.export(clip.clip_id, out, make_sheet=partial(make_sheet, keyframes=keyframes))
    with zipfile.ZipFile(out) as z:
        readme = z.read("README.txt").decode()
        assert json.loads(z.read("entries/clip.json"))["order_id"] == order  # exact, signed
        assert z.read("sheet.png").startswith(b"\x89PNG")
        assert z.read("sheet.pdf").startswith(b"%PDF-")
    order_line = next(line for line in readme.splitlines() if line.startswith("Order "))
    assert order_line == f"Order      {printable(order)}"
    _shown_safely(readme)

    report = verify_bundle(out, app.trust_file()).report
    assert report.facts is not None
    assert report.facts.order_id == order
    assert json.loads(report.to_json())["facts"]["order_id"] == order
    _shown_safely(report.verdict())
    assert printable(order, 120) in report.verdict()

    with TestClient(portal.web, follow_redirects=False) as client:
        cookie, _ = session_for(portal, "merchant")
        client.cookies.set("packseal_session", cookie)
        for url in (f"/clips/{clip.clip_id}", "/clips"):
            page = client.get(url)
            assert page.status_code == 200, (url, page.text[:300])
            _shown_safely(page.text)
        api = client.get(f"/api/v1/clips/{clip.clip_id}")
        assert api.status_code == 200
        assert api.json()["order_id"] == order


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXTS)
@example(text=NASTY[0])
@example(text="".join(NASTY))
@example(text=("\u2029" + "9" * 40) * 170)  # a QR code's longest text (7,089 characters)
def test_any_scanned_text_seals_exports_verifies_and_shows_safely(
    sealed_store: tuple[App, Portal, list[Segment]], tmp_path: Path, text: str
) -> None:
    app, portal, segments = sealed_store
    text = text[:MAX_SCAN_TEXT]
    _Case.n += 1
    clip = _seal(app, segments, text, _Case.n)
    (entry,) = [s for s in clip.scans if s.kind == "other"]
    assert entry.text == text  # the log records what was read, exactly
    _check_everything(app, portal, clip, text, tmp_path)


def test_replay_and_the_clips_command_show_any_text(
    sealed_store: tuple[App, Portal, list[Segment]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, _, segments = sealed_store
    text = "".join(NASTY)
    clip = _seal(app, segments, text, 9999)
    result = replay(app.store, clip, tmp_path / "replay.mp4", merchant="Test Shop")
    assert result.verified
    assert (tmp_path / "replay.mp4").stat().st_size > 0

    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"merchant": {"name": "Test Shop", "id": "test"}, "station": {"camera": dict(SIZE)}}
        )
    )
    base = ["--config", str(config), "--data-dir", str(app.config.data_dir)]
    assert main([*base, "clips"]) == 0
    shown = capsys.readouterr().out
    _shown_safely(shown.replace("\n", ""))
    assert "[bold red]rich markup[/]" in shown  # printed, not read as markup
    assert main([*base, "clips", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert text[:512] in [r["order_id"] for r in rows]
