"""`packseal export` and `packseal verify`, driven through main([...]) on a real recording."""

# The verifier's session fixtures are imported below, and pytest passes them in by name,
# which pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
import yaml

from packseal._cli_evidence import parse_size, parse_span
from packseal.app import App
from packseal.cli import main
from recorder.clock import ManualClock
from recorder.controller import ClipClosed, OpenClip
from recorder.sealer import ClipPlan, Sealer
from storage.entries import Clip, Scan, Segment, from_bytes, parse_as
from tests.recording import SIZE, Recording, copy_store, make_app

# The verifier's session fixtures (one recording, its bundles), shared rather than re-recorded.
from tests.verifier.conftest import (  # noqa: F401
    bundles,
    clips,
    honest_bundle,
    merchant_trust,
    recording,
)
from verifier.verify import CHECKS


@pytest.fixture
def cli(recording: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``packseal --config ... --data-dir ...`` for the recording's store, cwd a tmp dir."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"merchant": {"name": "Test Shop", "id": "test"}, "station": {"camera": dict(SIZE)}}
        )
    )
    monkeypatch.chdir(tmp_path)
    return ["--config", str(config), "--data-dir", str(recording.data_dir)]


@pytest.fixture
def trust(cli: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main([*cli, "keys", "trust"]) == 0
    path = tmp_path / "trust.json"
    path.write_text(capsys.readouterr().out)
    return path


def test_export_then_verify(
    cli: list[str],
    trust: Path,
    clips: list[Clip],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clip = clips[2]
    out = tmp_path / "bundle.zip"
    assert main([*cli, "export", clip.order_id, "-o", str(out)]) == 0
    printed, errors = capsys.readouterr()
    assert errors == ""  # stderr is not a terminal here: no progress bar, not a byte
    assert printed.startswith(f"wrote {out} (")
    assert f"order       {clip.order_id}" in printed
    assert f"clip        {clip.clip_id}, segments 1..{len(clip.segments)}" in printed
    assert "video       clip.mp4, the sealed bytes, sha256 " in printed

    assert main(["verify", str(out), "--trust", str(trust)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"VERIFIED: order {clip.order_id} packed at station station-01, ")
    for name, line in zip(CHECKS, lines[1 : 1 + len(CHECKS)], strict=True):
        assert line.startswith(f"  ✓ {name}")
    assert "facts proven:" in lines
    assert f"  order       {clip.order_id}" in lines
    # where the footage came from, from the signed entry: a check line and a fact
    demo = "demo scene demo:1: synthetic footage, NOT a camera"
    assert f"  ✓ source     {demo} (the trust file does not require live footage)" in lines
    assert f"  filmed by   {demo}" in lines

    assert main(["verify", str(out), "--trust", str(trust), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is True
    assert doc["facts"]["clip_id"] == clip.clip_id
    assert (doc["facts"]["source"], doc["facts"]["source_live"]) == (demo, False)
    with zipfile.ZipFile(out) as z:
        assert f"Filmed by  {demo}" in z.read("README.txt").decode().splitlines()

    # a merchant who publishes a live-only trust file: the demo's bundle fails, saying why
    live_only = json.loads(trust.read_bytes())
    live_only["require_live_source"] = True
    strict = tmp_path / "live-only.json"
    strict.write_text(json.dumps(live_only))
    assert main(["verify", str(out), "--trust", str(strict)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "NOT VERIFIED: 1 check(s) failed (source)"
    assert (
        "  ✗ source     the trust file requires live footage (a camera or an RTSP stream); "
        f"this clip's footage is from: {demo}"
    ) in lines


def test_export_an_excerpt(
    cli: list[str],
    trust: Path,
    clips: list[Clip],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "excerpt.zip"
    assert main([*cli, "export", clips[1].clip_id, "-o", str(out), "--excerpt", "0-3.5"]) == 0
    n = len(clips[1].segments)
    assert f"segments 1..2 of {n} (excerpt)" in capsys.readouterr().out
    assert main(["verify", str(out), "--trust", str(trust)]) == 0
    assert capsys.readouterr().out.startswith(f"VERIFIED (excerpt: segments 1..2 of {n})")


def test_a_tampered_bundle_exits_1_naming_the_check(
    honest_bundle: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.verifier.attacks_bundle import BUNDLE_ATTACKS

    tampered = tmp_path / "tampered.zip"
    shutil.copy(honest_bundle, tampered)
    flip = next(a for a in BUNDLE_ATTACKS if a.name == "flip a byte in a fragment")
    flip.tamper(tampered, None)
    assert main(["verify", str(tampered), "--trust", str(trust)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "NOT VERIFIED: 1 check(s) failed (media)"
    assert lines[2].startswith("  ✗ media      fragment 3 (bytes ")
    assert lines[3].strip().startswith("expected: ")
    assert lines[4].strip().startswith("found:    ")
    assert "facts the entry claims (NOT verified):" in lines

    assert main(["verify", str(tampered), "--trust", str(trust), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is False
    assert [c["name"] for c in doc["checks"] if c["ok"] is False] == ["media"]


def test_a_bundle_without_its_proof_never_prints_none(
    honest_bundle: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.verifier.attacks_bundle import BUNDLE_ATTACKS

    outs = []
    for name in ("a missing member", "proof index + 1"):  # no proof; a proof that fails
        tampered = tmp_path / "tampered.zip"
        shutil.copy(honest_bundle, tampered)
        next(a for a in BUNDLE_ATTACKS if a.name.startswith(name)).tamper(tampered, None)
        assert main(["verify", str(tampered), "--trust", str(trust)]) == 1
        outs.append(capsys.readouterr().out)
        assert "None" not in outs[-1], outs[-1]  # it said "index None, checkpoint size None"
    assert "position not proven (no valid inclusion proof in the bundle)" in outs[0]


def test_unusable_input_exits_2(
    trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    assert main(["verify", str(junk), "--trust", str(trust)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {junk} is not a readable zip file")
    assert "hint: " in err

    assert main(["verify", str(junk), "--trust", str(trust), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is False
    assert doc["verdict"].startswith("UNUSABLE: ")

    missing = tmp_path / "nowhere.json"
    assert main(["verify", str(junk), "--trust", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: trust file {missing} does not exist\nhint: the merchant ")
    not_json = tmp_path / "not.json"
    not_json.write_text("<html>a web page saved instead</html>")
    assert main(["verify", str(junk), "--trust", str(not_json)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {not_json}: trust file is not JSON")
    assert "\nhint: the merchant publishes it (`packseal keys trust > trust.json`" in err
    assert main(["verify", str(junk), "--trust", str(missing), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["hint"].startswith("the merchant publishes it")

    bad_trust = tmp_path / "bad-trust.json"
    bad_trust.write_text('{"format": "something else"}')
    assert main(["verify", str(junk), "--trust", str(bad_trust)]) == 2
    assert "trust file format must be 'packseal-trust/v1'" in capsys.readouterr().err

    assert main(["verify", str(junk)]) == 2
    assert "Missing option '--trust'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-size", "20 parsecs"], "expected a size like 20MB, 5MiB or 800kB"),
        (["--max-size", "0MB"], "expected a size above zero"),
        (["--excerpt", "9-5"], "expected END after START"),
        (["--excerpt", "five-nine"], "expected START-END in seconds"),
        (["--excerpt", "500-600"], "starts after the clip ends"),
    ],
)
def test_export_usage_errors_exit_2(
    cli: list[str],
    clips: list[Clip],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "x.zip"
    assert main([*cli, "export", clips[0].clip_id, "-o", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_export_refuses_to_replace_a_file_unless_forced(
    cli: list[str], clips: list[Clip], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "taken.zip"
    out.write_bytes(b"someone else's file")
    assert main([*cli, "export", clips[0].clip_id, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {out} already exists" in err
    assert "hint: choose another -o, or pass --force to replace it" in err
    assert out.read_bytes() == b"someone else's file"
    assert main([*cli, "export", clips[0].clip_id, "-o", str(out), "--force"]) == 0
    assert zipfile.is_zipfile(out)


def _seal_again(app: App, clip: Clip) -> Clip:
    """A second clip of ``clip``'s order (the order re-packed), over its last segments."""
    store = app.store
    refs = clip.segments[-2:]
    segments = [
        parse_as(Segment, store.entry(r.idx)) for r in store.segments(refs[0].seq, refs[-1].seq)
    ]
    t0, t1 = segments[0].start, segments[-1].end
    scans = (Scan(t0 + 100, clip.order_id, "order", "Code128", "gun", None),)
    opened = OpenClip("CLIPREPACK0001", clip.order_id, t0 + 100, scans)
    plan = ClipPlan(ClipClosed(opened, t1 - 100, "stop", "sealed"), segments[0].run, t0, t1, 0, 0)
    sealer = Sealer(
        store, app.station_signer, ManualClock(start_ms=t1 + 1000), station=clip.station,
        operator="", zone=dt.UTC,
    )  # fmt: skip
    return sealer.seal_clip(plan, segments, clip.video)


def test_an_order_with_several_clips_says_which_one_and_lists_the_others(
    recording: Recording,
    clips: list[Clip],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = copy_store(recording.data_dir, tmp_path / "data")
    app = make_app(data)
    again = _seal_again(app, clips[2])
    app.store.sign_checkpoint(app.station_signer, again.ended + 2000)
    app.close()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "merchant": {"name": "Test Shop", "id": "test"},
                "station": {"camera": dict(SIZE)},
                "trust": {"verify_url": "https://acme.example/verify.html"},
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "order.zip"
    argv = ["--config", str(config), "--data-dir", str(data), "export", clips[2].order_id]
    assert main([*argv, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"clip        {again.clip_id}," in printed
    assert f"note: this order has 2 clips; the bundle holds the newest ({again.clip_id})" in printed
    assert f"  {clips[2].clip_id}  sealed " in printed
    assert "export one of them by its clip id: packseal export CLIP_ID -o FILE" in printed
    # the README tells a reviewer where the verifier comes from
    with zipfile.ZipFile(out) as z:
        readme = z.read("README.txt").decode()
    assert "`pip install packseal` (Python 3.11 or newer)" in readme
    assert "Or open https://acme.example/verify.html in a browser" in readme
    # by clip id: no note
    out2 = tmp_path / "clip.zip"
    assert main(["--config", str(config), "--data-dir", str(data), "export", clips[2].clip_id,
                 "-o", str(out2)]) == 0  # fmt: skip
    assert "note:" not in capsys.readouterr().out


def test_export_of_an_unknown_order_exits_2(
    cli: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*cli, "export", "SO-NOPE", "-o", str(tmp_path / "x.zip")]) == 2
    err = capsys.readouterr().err
    assert "error: no clip or order 'SO-NOPE' in this store" in err
    assert "hint: list sealed clips with `packseal clips`" in err


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("20MB", 20_000_000),
        ("5MiB", 5 * 2**20),
        ("800kB", 800_000),
        ("1.5GB", 1_500_000_000),
        ("20 mb", 20_000_000),
        ("4096B", 4096),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["20", "MB", "-5MB", "20MBs", "2e6B", "20 M B", "0.0KiB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_size(text)


def test_spans() -> None:
    assert parse_span("10-25") == (10.0, 25.0)
    assert parse_span("0-7.5") == (0.0, 7.5)
    for bad in ("10", "10-", "-5-3", "5-5", "1:00-2:00"):
        with pytest.raises(click.BadParameter):
            parse_span(bad)


def test_export_shows_progress_on_a_terminal(cli: list[str], clips: list[Clip]) -> None:
    clip = clips[0]
    # (stderr not a terminal: test_export_then_verify sees not a byte of progress.)
    # stderr a terminal: the installed command draws its bar there, step by step
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "packseal", *cli, "export", clip.clip_id, "-o", "tty.zip"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        stdout, _ = proc.communicate(timeout=120)
    finally:
        os.close(master)
    assert proc.returncode == 0, drawn.decode(errors="replace")
    text = drawn.decode(errors="replace")
    assert "copying the sealed clip" in text or "writing the zip" in text, text[-2000:]
    assert stdout.decode().startswith("wrote tty.zip (")  # stdout stays the summary alone


def test_two_cameras_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: a station with two cameras records (top: the demo table, side: its
    close-up, through the real station and ffmpeg), then `packseal export`, `verify` and
    `replay` name and check both views; a bundle missing one fragment of one view fails."""
    from packseal.config import parse_config
    from packseal.runner import make_station
    from recorder.clock import SystemClock
    from recorder.demo import DemoScene
    from recorder.sources import DemoSource
    from tests.recording import EPOCH_MS
    from verifier.fmp4 import split_bytes

    settings = {
        "merchant": {"name": "Two View Shop", "id": "twoview"},
        "station": {
            "cameras": [
                {"view": "top", "device": 0, **SIZE},
                {"view": "side", "device": 1, **SIZE},
            ]
        },
    }
    data = tmp_path / "data"
    app = App(parse_config({"data_dir": str(data), **settings}, base=tmp_path), clock=SystemClock())
    app.init()
    scenes = [DemoScene(SIZE["width"], SIZE["height"], SIZE["fps"], seed=2, orders=1) for _ in "ab"]
    top = DemoSource(scenes[0], app.clock, realtime=False, epoch_ms=EPOCH_MS)
    side = DemoSource(scenes[1], app.clock, realtime=False, epoch_ms=EPOCH_MS, closeup=True)
    make_station(app, [top, side], realtime=False).run()
    (order,) = [o.order_id for o in scenes[0].orders()]
    trust = tmp_path / "trust.json"
    trust.write_bytes(app.trust_file().to_bytes())
    found = [from_bytes(data) for _, data in app.store.entries()]
    entries = {e.clip_id: e for e in found if isinstance(e, Clip)}
    app.close()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings))
    cli = ["--config", str(config), "--data-dir", str(data)]

    # `clips` counts each view's segments (the span of their interleaved numbers was both)
    assert main([*cli, "clips", "--json"]) == 0
    (listed,) = [c for c in json.loads(capsys.readouterr().out) if c["order_id"] == order]
    counts = {v.view: len(v.segments) for v in entries[listed["clip_id"]].all_views()}
    assert listed["view_segments"] == counts
    assert listed["segments"] == counts["top"]
    assert main([*cli, "clips"]) == 0
    assert f"{counts['top']} + {counts['side']}" in capsys.readouterr().out

    bundle = tmp_path / "bundle.zip"
    assert main([*cli, "export", order, "-o", str(bundle)]) == 0
    printed = capsys.readouterr().out
    with zipfile.ZipFile(bundle) as z:  # each view's file and its hash, as the sheet has them
        sha = {n: hashlib.sha256(z.read(n)).hexdigest() for n in ("clip.mp4", "clip.side.mp4")}
    assert (
        f"  views       top: clip.mp4, sha256 {sha['clip.mp4']}\n"
        f"              side: clip.side.mp4, sha256 {sha['clip.side.mp4']}\n"
    ) in printed
    assert main(["verify", str(bundle), "--trust", str(trust)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"VERIFIED: order {order}")
    assert "✓ media      2 views; top (clip.mp4): all " in printed
    assert "; side (clip.side.mp4): all " in printed
    assert "views       top (clip.mp4, 1.." in printed
    assert "; side (clip.side.mp4, 1.." in printed

    out = tmp_path / "replay.mp4"
    assert main([*cli, "replay", order, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "view top:" in printed
    assert "view side:" in printed
    assert out.stat().st_size > 0
    assert (tmp_path / "replay.side.mp4").stat().st_size > 0

    # One fragment of the side view left out, the checksums redone as a forger would.
    from tests.verifier.attacks_bundle import SIDE, edit

    def drop(m: dict[str, bytes]) -> None:
        video = m[SIDE]
        layout = split_bytes(video)
        cut = layout.fragments[1]
        m[SIDE] = video[: cut.start] + video[cut.end :]

    edit(bundle, drop)
    assert main(["verify", str(bundle), "--trust", str(trust)]) == 1
    printed = capsys.readouterr().out
    assert "NOT VERIFIED: 1 check(s) failed (media)" in printed
    assert "view side (clip.side.mp4): fragment 2 " in printed
    assert "segment(s) 2..2 are missing" in printed
