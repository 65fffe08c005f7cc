"""End to end: a station with a local TSA and one witness records the demo source; its
bundle verifies with k=1 and fails with k=2; after the merchant rewrites an old entry and
re-signs, the witness refuses the new checkpoint and ``audit --against`` the witnessed
checkpoint reports the fork and writes the proof."""

# The verifier's session fixtures are imported below, and pytest passes them in by name.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from packseal.app import App
from packseal.cli import main
from packseal.config import load_config
from storage import Anchors, Clip, Gap, Store, TrustedWitness
from storage.cosignature import CosignatureSigner, cosignatures
from storage.entries import GENESIS, from_bytes
from tests.anchored import Anchored
from tests.verifier.conftest import anchored  # noqa: F401


def cli(a: Anchored, data: Path, *args: str) -> list[str]:
    return ["--config", str(a.config), "--data-dir", str(data), *args]


def test_bundle_verifies_with_one_witness_and_not_with_two(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_bytes(anchored.trust.to_bytes())
    assert anchored.trust.witness_quorum == 1
    assert anchored.trust.tsa_roots
    assert anchored.trust.c2pa_roots
    assert main(["verify", str(anchored.bundle), "--trust", str(trust)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VERIFIED")
    assert "existed before" in out
    assert "witness.test/w1 at" in out
    assert "Trusted, signed by station-01" in out

    second = CosignatureSigner("witness.test/w2", Ed25519PrivateKey.generate())
    two = dataclasses.replace(
        anchored.trust,
        witnesses=(*anchored.trust.witnesses, TrustedWitness(second.verifier.vkey)),
        witness_quorum=2,
    )
    trust.write_bytes(two.to_bytes())
    assert main(["verify", str(anchored.bundle), "--trust", str(trust), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failed = {c["name"]: c for c in report["checks"] if c["ok"] is False}
    assert set(failed) == {"witness"}
    assert "requires 2 of its 2 witnesses" in failed["witness"]["message"]


def rewrite_history(data: Path, app: App) -> int:
    """The merchant edits the order of an old clip, re-signs it, rebuilds the log with the
    same keys, appends one more entry, and signs a checkpoint: a fork of the witnessed log."""
    origin = app.config.origin
    old = Store.open(f"sqlite:///{data / 'packseal.db'}", data / "blobs", origin)
    entries = [from_bytes(d) for _, d in old.entries()]
    old.close()
    for suffix in ("", "-wal", "-shm"):
        (data / f"packseal.db{suffix}").unlink(missing_ok=True)
    signer = app.station_signer
    clip_at = next(i for i, e in enumerate(entries) if isinstance(e, Clip))
    clip = entries[clip_at]
    assert isinstance(clip, Clip)
    entries[clip_at] = dataclasses.replace(clip, order_id="SO-REWRITTEN").signed_by(signer)
    entries.append(Gap(entries[-1].time, entries[-1].time, entries[-1].time, "restart", None))
    new = Store.open(f"sqlite:///{data / 'packseal.db'}", data / "blobs", origin, create=True)
    try:
        new.append([e.with_prev(GENESIS) for e in entries])
        new.sign_checkpoint(signer, app.clock.now_ms())
    finally:
        new.close()
    return clip_at


def test_a_rewritten_history_is_refused_by_the_witness_and_proven_by_audit(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = anchored.app
    witnessed = tmp_path / "witnessed.note"
    latest = app.store.latest_checkpoint()
    assert latest is not None
    note = Anchors(app.store._engine, app.store._log).cosigned_note(latest)
    (cosig,) = cosignatures(note, anchored.trust.witness_verifiers())
    witnessed.write_bytes(note)  # what an auditor keeps: the checkpoint the witness signed

    data = shutil.copytree(app.config.data_dir, tmp_path / "data")
    copy = App(load_config(anchored.config, data_dir=data))
    rewrite_history(data, copy)
    refused_before = len(list((anchored.witness_state / "refused").iterdir()))

    assert main(cli(anchored, data, "log", "anchor", "--wait", "5")) == 1
    out = capsys.readouterr().out
    assert f"witness {anchored.witness.url} refused size {latest.size + 1}: HTTP 422" in out
    assert "stamped size" in out  # a TSA stamps anything: only the witness knows history
    # The witness kept the validly signed, inconsistent checkpoint it refused.
    assert len(list((anchored.witness_state / "refused").iterdir())) == refused_before + 1

    evidence = tmp_path / "evidence"
    trust = tmp_path / "trust.json"
    trust.write_bytes(anchored.trust.to_bytes())
    args = ["audit", "--against", str(witnessed), "--trust", str(trust), "--no-hash"]
    assert main(cli(anchored, data, *args, "--evidence-dir", str(evidence))) == 1
    out = capsys.readouterr().out
    assert "[against]" in out
    assert "forked" in out
    (proof,) = evidence.iterdir()
    doc = json.loads(proof.read_text())
    assert doc["format"] == "packseal-misbehaviour/v1"
    # The proof carries the witnessed checkpoint verbatim, cosignature and all: anyone
    # holding the witness's key can see the log signed two histories.
    assert note.decode() in doc["checkpoints"]
    assert cosig.name == "witness.test/w1"
