"""`packseal audit` and `packseal purge`, driven through main([...]) on a recorded store."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from packseal.cli import main
from storage.retention import DAY_MS
from tests.recording import Recording, copy_store
from tests.verifier.attacks_store import STORE_ATTACKS
from tests.verifier.conftest import recording  # noqa: F401  (the session's recording)

CONFIG = "merchant: {name: Test Shop, id: test}\nstation: {camera: {width: 640, height: 360}}\n"


@pytest.fixture
def workdir(
    recording: Recording,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A private copy of the recording's data directory, with a config.yaml, as the cwd."""
    copy_store(recording.data_dir, tmp_path / "data")
    (tmp_path / "config.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tamper(workdir: Path, name: str, recording: Recording) -> None:  # noqa: F811
    attack = next(a for a in STORE_ATTACKS if a.name.startswith(name))

    class Keys:
        station = recording.app.station_signer
        root = recording.app.root_signer

    attack.tamper(workdir / "data", Keys())


def _facts(recording: Recording) -> tuple[int, int, int, list[int]]:  # noqa: F811
    """(entries, clips, segments, checkpoint sizes) of the recording."""
    store = recording.app.store
    sizes = [c.size for c in store.checkpoints()]
    return store.size(), store.count_clips(), len(store.segments(0, 10**9)), sizes


def test_clean(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    size, clips, segments, sizes = _facts(recording)
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"store clean: {size} entries, {clips} clips, {segments + 1} blobs verified, "
        f"{len(sizes)} checkpoints, "
    )
    # where the footage came from: the recording is the demo's, not a camera's
    assert f"\nfootage: {clips} from the demo (NOT live)\n" in out
    assert main(["audit", "--no-hash"]) == 0
    assert f"{segments + 1} blobs present (not hashed: --no-hash)" in capsys.readouterr().out


def test_json_and_a_published_trust_file(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    assert main(["keys", "trust"]) == 0
    (workdir / "trust.json").write_text(capsys.readouterr().out)
    assert main(["audit", "--json", "--trust", "trust.json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    size, clips, _, _ = _facts(recording)
    assert (doc["ok"], doc["size"], doc["stats"]["clips"], doc["findings"]) == (
        True,
        size,
        clips,
        [],
    )


def test_findings_exit_1_grouped_by_severity(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    _tamper(workdir, "segment blob deleted without", recording)
    assert main(["audit"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FINDINGS: 1 errors ({_facts(recording)[0]} entries")
    assert "errors:\n  [blobs] segment 5 (from entry 6): media missing" in out
    # The finding names the order whose evidence it touches (segment 5: the first clip).
    store = recording.app.store
    first = min(store.clips(), key=lambda r: r.first_seq)
    assert first.first_seq <= 5 <= first.last_seq
    assert f"      affects order {first.order_id} (clip {first.clip_id})\n" in out
    assert main(["audit", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"] == [{"check": "blobs", "severity": "error", "count": 1}]
    (finding,) = doc["findings"]
    assert finding["affects"] == [{"order_id": first.order_id, "clip_id": first.clip_id}]
    assert finding["segments"] == [5, 5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"trust file \S+ does not exist"),
        (b"not json", r"trust file is not JSON .*: expected a packseal-trust/v1 document"),
    ],
)
def test_a_missing_or_broken_trust_file_is_an_error_with_a_hint(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    if content is not None:
        (workdir / "trust.json").write_bytes(content)
    assert main(["audit", "--trust", "trust.json"]) == 2
    err = capsys.readouterr().err
    assert re.search(f"error: .*{message}", err), err
    assert "hint: the merchant publishes it (`packseal keys trust > trust.json`" in err
    assert "Traceback" not in err


def test_a_fork_writes_the_proof_of_misbehaviour(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    *_, sizes = _facts(recording)
    _tamper(workdir, "old entry rewritten, latest", recording)
    assert main(["audit"]) == 1
    out = capsys.readouterr().out
    # Every older checkpoint over the rewritten entry forks from the re-signed latest.
    older, latest = [s for s in sizes[:-1] if s > 3], sizes[-1]
    assert f"[consistency] stored checkpoint at size {older[0]}" in out
    written = sorted((workdir / "data-evidence").iterdir())
    assert [p.name for p in written] == sorted(
        f"misbehaviour-packseal.local_test_station-01-{s}-{latest}.json" for s in older
    )
    assert f"proof of misbehaviour written to {written[0]}" in out
    doc = json.loads(written[0].read_text())
    assert doc["consistency_proof"]["old_size"] == int(written[0].stem.split("-")[-2])
    assert main(["audit", "--json", "--evidence-dir", "elsewhere"]) == 1
    assert "proof of misbehaviour written to elsewhere/" in capsys.readouterr().err
    assert len(list((workdir / "elsewhere").iterdir())) == len(older)


def test_against_a_saved_checkpoint(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    assert main(["log", "checkpoint"]) == 0
    (workdir / "saved.txt").write_text(capsys.readouterr().out)
    assert main(["audit", "--against", "saved.txt"]) == 0
    assert "[against] the log is consistent with the saved checkpoint" in capsys.readouterr().out
    _tamper(workdir, "log rolled back", recording)
    assert main(["audit", "--against", "saved.txt"]) == 1
    size = _facts(recording)[0]
    assert f"[against] rollback: the saved checkpoint covers {size} entries" in (
        capsys.readouterr().out
    )


def test_purge_then_audit(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    size, _, segments, _ = _facts(recording)
    assert main(["purge", "--older-than", "3650"]) == 0
    assert capsys.readouterr().out.startswith("nothing to purge: no media ended before")
    # The CLI purges by the machine's clock; the recording has fixed capture times.
    ended = recording.app.store.segments(0, 10**9)[-1].end_ms
    days = int((time.time() * 1000 - ended) // DAY_MS)
    if days < 1:
        pytest.skip("this machine's clock is less than a day past the test recording")
    assert main(["purge", "--older-than", str(days), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert f"would delete segments 0..{segments - 1}: {segments} files" in dry
    assert "would log 1 purge entries (retention: media older than" in dry
    assert main(["audit"]) == 0
    assert f"store clean: {size} entries" in capsys.readouterr().out
    assert main(["purge", "--older-than", str(days)]) == 0
    out = capsys.readouterr().out
    assert f"deleted segments 0..{segments - 1}: {segments} files" in out
    assert "deleted 1 init sections no remaining segment needs" in out
    assert f"signed checkpoint at size {size + 1}" in out
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"store clean: {size + 1} entries")
    assert f"notes:\n  [blobs] entry {size}: segments 0..{segments - 1} purged at" in out


def test_a_live_only_trust_file_makes_every_demo_clip_an_error(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    recording: Recording,  # noqa: F811
) -> None:
    trust = json.loads(recording.app.trust_file().to_bytes())
    trust["require_live_source"] = True
    (workdir / "live-only.json").write_text(json.dumps(trust))
    assert main(["audit", "--no-hash", "--trust", "live-only.json", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    clips = recording.app.store.count_clips()
    assert doc["stats"]["demo_clips"] == clips
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert len(errors) == clips
    assert all(
        re.search(r"is not live footage, which the trust file requires: demo scene", f["message"])
        for f in errors
    )


def test_purge_deletes_old_claim_photos_and_keeps_the_report(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`packseal purge` applies claims.keep_photos_days (30 by default) to buyer photos."""
    from packseal.accounts import Accounts
    from storage.db import connect
    from tests.packseal.test_claims import kept

    now = round(time.time() * 1000)
    old = kept(workdir / "data" / "claims", "01OLD", "a" * 16, now - 40 * DAY_MS)
    young = kept(workdir / "data" / "claims", "01NEW", "b" * 16, now - 2 * DAY_MS)
    assert main(["purge", "--older-than", "3650", "--dry-run"]) == 0
    assert (old / "photo-1").exists()
    assert main(["purge", "--older-than", "3650"]) == 0
    out = capsys.readouterr().out
    assert (
        "would delete the buyer photos of 1 claim check(s) older than 30 days "
        "(claims.keep_photos_days): 3 files, 0.0 MB; their reports stay"
    ) in out
    assert "deleted the buyer photos of 1 claim check(s)" in out
    assert not (old / "photo-1").exists()
    assert (old / "claim.json").exists()
    assert (old / "photos-deleted.json").exists()
    assert (young / "photo-1").exists()
    engine = connect(f"sqlite:///{workdir / 'data' / 'packseal.db'}")
    try:
        [event] = Accounts(engine).custody("01OLD")
        assert event.action == "claim-photos-deleted"
    finally:
        engine.dispose()
