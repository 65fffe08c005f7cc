"""record / clips / demo through main([...]) with the real station."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from packseal.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture
def small(workdir: Path) -> Path:
    (workdir / "config.yaml").write_text(
        "merchant: {name: Test Shop, id: test}\n"
        "station: {camera: {width: 640, height: 360, fps: 15}}\n"
    )
    return workdir


def test_record_fast_with_epoch_and_stats(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    argv = ["record", "--source", "demo:3", "--fast", "--epoch", "2026-11-29T08:00:00+08:00",
            "--for", "40", "--stats-json", "stats.json"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "stopped:" in out
    stats = json.loads((small / "stats.json").read_text())
    assert stats["footage_seconds"] == pytest.approx(40, abs=0.2)
    assert stats["frames_encoded"] == stats["frames_captured"] == 600
    assert stats["frames_dropped"] == 0
    assert stats["clips_sealed"] >= 1
    assert main(["clips", "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    # --epoch stamps the first frame: 08:00:00+08:00 is 00:00:00Z
    assert all(c["started_at"].startswith("2026-11-29T00:0") for c in clips)
    assert clips[-1]["order_id"].startswith("SO-")
    assert main(["clips", "--order", clips[-1]["order_id"]]) == 0
    assert clips[-1]["order_id"] in capsys.readouterr().out


def test_record_with_a_scanner_gun_on_a_fifo(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    fifo = small / "gun"
    os.mkfifo(fifo)

    def gun() -> None:
        with open(fifo, "wb", buffering=0) as f:
            f.write(b"GUN-ORDER-0001\n")

    typing = threading.Thread(target=gun, daemon=True)
    typing.start()
    # real time, so the typed code lands inside the recording
    assert main(["record", "--source", "demo:5", "--for", "6", "--gun", str(fifo)]) == 0
    typing.join(5)
    capsys.readouterr()
    assert main(["clips", "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert "GUN-ORDER-0001" in {c["order_id"] for c in clips}


def test_bad_epoch_is_a_usage_error(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert main(["record", "--source", "demo", "--fast", "--epoch", "yesterday"]) == 2
    assert "RFC 3339" in capsys.readouterr().err
    assert main(["record", "--source", "demo", "--fast", "--epoch", "2026-11-29T08:00:00"]) == 2
    assert "no zone" in capsys.readouterr().err
    assert main(["record", "--source", "tape:1"]) == 2
    assert "camera, camera:N" in capsys.readouterr().err


def test_demo_command(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--source", "demo", "--orders", "1"]) == 0
    out = capsys.readouterr().out
    assert "sealed 1 clip(s) in this run" in out
    assert "VERIFIED: order SO-" in out
    data = small / "demo-data"
    assert (data / "packseal.db").exists()
    assert (data / "trust.json").exists()
    assert [p.suffix for p in sorted((data / "bundles").iterdir())] == [".png", ".zip"]
    first = sorted((data / "bundles").glob("*.zip"))

    # run twice: new orders, not the same ones again (each a repeat alarm, before)
    assert main(["demo", "--source", "demo", "--orders", "1"]) == 0
    out = capsys.readouterr().out
    assert "ALARM" not in out
    assert "sealed 1 clip(s) in this run" in out
    second = sorted(set((data / "bundles").glob("*.zip")) - set(first))
    assert len(second) == 1
    assert second[0].stem.startswith("SO-")


def test_an_unreachable_ip_camera_is_an_error_naming_no_password(
    small: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    # port 9 (discard) on loopback: nothing listens, refused at once
    url = "rtsp://admin:Hunter2-Pw@127.0.0.1:9/Streaming/Channels/101"
    assert main(["record", "--source", url]) == 2  # as for a USB camera that is missing
    out, err = capfd.readouterr()
    assert "error: IP camera rtsp://admin:***@127.0.0.1:9/Streaming" in err
    assert "Hunter2-Pw" not in out + err
    assert main(["record", "--source", "rtsp:/admin:Hunter2-Pw@bad"]) == 2  # not a source
    out, err = capfd.readouterr()
    assert "not understood" in err
    assert "Hunter2-Pw" not in out + err
