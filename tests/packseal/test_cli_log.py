"""The storage commands, driven through main([...]) on a real store."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from packseal.cli import main
from storage import TrustFile, merkle
from storage.checkpoint import Checkpoint, TlogProof
from storage.note import Ed25519Verifier, parse


def test_init_is_idempotent(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    first = capsys.readouterr().out
    assert "created root key" in first
    assert "created log packseal.local/test/station-01" in first
    assert main(["init"]) == 0
    again = capsys.readouterr().out
    assert "created" not in again.replace("existing", "")
    assert (workdir / "data" / "keys" / "station.pem").stat().st_mode & 0o777 == 0o600


def test_a_second_log_with_an_existing_origin_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same root key and station.id over a new database: before, `init` quietly made a
    # second history of packseal.local/test/station-01 that the same trust file vouched for.
    assert main(["init"]) == 0
    capsys.readouterr()
    (workdir / "config.yaml").write_text(
        "merchant: {name: Test Shop, id: test}\n"
        f"storage: {{database_url: 'sqlite:///{workdir / 'other.db'}'}}\n"
        f"keys: {{root: '{workdir / 'data' / 'keys' / 'root.pem'}'}}\n"
    )
    assert main(["--data-dir", str(workdir / "data2"), "init"]) == 2
    err = capsys.readouterr().err
    assert "already certified a log named packseal.local/test/station-01" in err
    assert "a second log with that origin would be a fork" in err
    assert "hint: point this config at that log's database" in err
    assert "root.pem.logs" in err
    # The first store is untouched and init there is still idempotent.
    (workdir / "config.yaml").write_text("merchant: {name: Test Shop, id: test}\n")
    assert main(["init"]) == 0
    assert "existing log packseal.local/test/station-01" in capsys.readouterr().out
    lines = (workdir / "data" / "keys" / "root.pem.logs").read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["origin"] == "packseal.local/test/station-01"


def test_trust_and_checkpoint(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "trust"]) == 0
    trust = TrustFile.from_bytes(capsys.readouterr().out.encode())
    assert trust.merchant == "Test Shop"
    assert main(["log", "checkpoint"]) == 0
    note = capsys.readouterr().out.encode()
    text, _ = parse(note)
    cp = Checkpoint.from_text(text)
    assert (cp.origin, cp.size) == ("packseal.local/test/station-01", 1)
    assert main(["log", "entry", "0"]) == 0
    entry = capsys.readouterr().out.encode()
    assert json.loads(entry)["kind"] == "station-key"
    assert main(["log", "proof", "0"]) == 0
    proof = TlogProof.from_bytes(capsys.readouterr().out.encode())
    proof.verify(entry, trust.log_verifiers())
    assert cp.root_hash == merkle.leaf_hash(entry)


def test_keys_show(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert Ed25519Verifier.from_vkey(lines[0].split()[-1]).name == "test"


def test_consistency(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "consistency", "1"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["log", "consistency", "0", "1"]) == 0
    assert main(["log", "consistency", "2"]) == 2
    assert "no consistency proof from size 2" in capsys.readouterr().err


def test_verify_and_tamper(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "verify"]) == 0
    assert "valid — 1 entries" in capsys.readouterr().out
    db = sqlite3.connect(initialised / "data" / "packseal.db")
    with db:
        edited = "CAST(replace(CAST(data AS TEXT), 'Test Shop', 'Evil Shop') AS BLOB)"
        db.execute(f"UPDATE entries SET data = {edited}")  # noqa: S608
    db.close()
    assert main(["log", "verify"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: entry 0: stored leaf hash")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["log", "entry", "7"], "has no entry 7"),
        (["log", "entry", "-1"], "No such option"),
        (["log", "proof", "0", "--size", "9"], "not covered by a signed checkpoint"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_and_unusable_input_exit_2(
    initialised: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_relative_data_dir_is_where_it_is_typed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `packseal --data-dir data claim ...` run beside a copied store looked for it in the
    # config's directory (here, elsewhere/), or in ~/.local/share/packseal without one.
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("merchant: {name: Test Shop, id: test}\n")
    assert main(["--config", str(elsewhere / "config.yaml"), "--data-dir", "here", "clips"]) == 2
    assert f"no packseal store in {workdir / 'here'} (" in capsys.readouterr().err


def test_commands_before_init(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["log", "checkpoint"], ["clips"], ["audit"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: no packseal store in {workdir / 'data'} (no packseal.db there)" in err
        assert "hint: run `packseal init`" in err
    # reading never creates an empty database (or its directory) to answer from
    assert not (workdir / "data").exists()


def test_config_check(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    assert "OK" in capsys.readouterr().out
    bad = workdir / "bad.yaml"
    bad.write_text("station:\n  camera: {fps: 0, capture: gstreamer}\n  typo: 1\n")
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "station.camera.fps: Input should be greater than or equal to 1 (found 0)" in err
    assert "station.camera.capture: Input should be 'ffmpeg' or 'python'" in err
    assert "station.typo: unknown key" in err


def test_checkpoint_root_is_base64_of_leaf(
    initialised: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["log", "checkpoint"])
    lines = capsys.readouterr().out.splitlines()
    assert len(base64.b64decode(lines[2])) == 32


def test_config_check_lists_the_views_and_explains_a_mistake(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = workdir / "two.yaml"
    good.write_text(
        "station:\n  cameras:\n"
        "    - {view: top, device: 0}\n"
        "    - {view: side, device: 'rtsp://u:Pw-3@cam/1', mode: copy, scan: false}\n"
    )
    assert main(["config", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "views     top (0, 1280x720, encode, scans, primary); side (rtsp://u:***@cam/1" in out
    assert "Pw-3" not in out
    bad = workdir / "bad.yaml"
    bad.write_text("station:\n  camera: {fps: 25}\n  cameras:\n    - {view: Top}\n")
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "station.cameras.0.view: expected a view name of 1-16 of a-z" in err
