"""Keys over time: a station key is rotated by entries the merchant root signs; the old
key's clips from before still verify, its signatures after the rotation do not."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from packseal.cli import main
from storage.entries import Clip, KeyRevocation, StationKey, parse_as
from storage.keyhistory import key_entries
from tests.recording import EPOCH_MS, make_app, record_demo
from tests.verifier.attacks_bundle import CLIP, KEY, KEY_PROOF, edit
from verifier._errors import NotVerified
from verifier.verify import verify_bundle


def test_rotation_keeps_the_past_and_refuses_the_old_key_after(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    record_demo(app.config.data_dir, orders=1, app=app)
    (before,) = app.store.clips()
    old = app.station_signer
    new_at, certify, revoke = app.rotate_station_key()
    assert revoke.after == new_at - 1
    retired = app.config.station_key.with_name(f"station.pem.{old.verifier.key_id:08x}.retired")
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600  # it signed evidence: kept, private
    assert app.station_signer.verifier.vkey == certify.vkey != old.verifier.vkey
    kinds = [type(e) for _, e in key_entries(app.store)]
    assert kinds == [StationKey, StationKey, KeyRevocation]

    record_demo(app.config.data_dir, orders=1, app=app, epoch_ms=EPOCH_MS + 600_000)
    after = next(r for r in app.store.clips() if r.clip_id != before.clip_id)
    trust = app.trust_file()
    old_log, new_log = trust.logs
    assert (old_log.revoked_after, old_log.revoked_reason) == (new_at - 1, "rotated")
    assert new_log.revoked_after is None

    bundles = {}
    for row in (before, after):
        out = tmp_path / f"{row.clip_id}.zip"
        app.export(row.clip_id, out)
        bundles[row.clip_id] = out
        # Both verify: the old key's clip was signed before the rotation point, the new
        # one by the key certified at it; the checkpoint is the new key's.
        assert verify_bundle(out, trust).report.verified

    # The retired key signs a clip after the rotation (a thief, a forgotten station).
    forged = bundles[after.clip_id]
    proof = app.store.tlog_proof(0, app.store.latest_checkpoint().size)  # type: ignore[union-attr]

    def apply(m: dict[str, bytes]) -> None:
        clip = parse_as(Clip, m[CLIP])
        m[CLIP] = dataclasses.replace(clip, order_id="SO-LATE").signed_by(old).to_bytes()
        m[KEY] = app.store.entry(0)
        m[KEY_PROOF] = proof.to_bytes()

    edit(forged, apply)
    with pytest.raises(NotVerified) as caught:
        verify_bundle(forged, trust)
    signature = caught.value.report.check("signature")
    assert signature.ok is False
    assert "rotated after index" in signature.message


def test_keys_rotate_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text("merchant: {name: Test Shop, id: test}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert main(["keys", "rotate", "--reason", "compromised", "--after", "0"]) == 0
    out = capsys.readouterr().out
    assert "revoked" in out
    assert "(compromised) after index 0" in out
    assert main(["keys", "trust"]) == 0
    assert '"revoked_after": 0' in capsys.readouterr().out
    assert main(["keys", "rotate", "--after", "99"]) == 2
    assert "below" in capsys.readouterr().err
