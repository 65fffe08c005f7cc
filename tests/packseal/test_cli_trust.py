"""`packseal keys x509`, `keys trust` with requirements, and `export` from an anchored station."""

# ruff: noqa: F811

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509

from packseal.cli import main
from storage import TrustFile
from tests.anchored import Anchored
from tests.verifier.conftest import anchored  # noqa: F401


def test_keys_x509_issues_a_chain_and_the_trust_file_lists_its_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text(
        "merchant: {name: Test Shop, id: test}\nc2pa: {enabled: true, alg: ed25519}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert main(["keys", "x509"]) == 0
    out = capsys.readouterr().out
    assert "(ed25519, " in out
    keys = tmp_path / "data" / "keys"
    assert stat.S_IMODE((keys / "c2pa.key").stat().st_mode) == 0o600
    leaf, ca = x509.load_pem_x509_certificates((keys / "c2pa-chain.pem").read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert main(["keys", "trust"]) == 0
    trust = TrustFile.from_bytes(capsys.readouterr().out.encode())
    assert trust.c2pa_roots == ((keys / "c2pa-ca.pem").read_text(),)
    assert main(["keys", "x509"]) == 2  # never overwrites a key
    assert "refusing to overwrite" in capsys.readouterr().err


def test_export_from_an_anchored_station(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = anchored.app
    order = sorted(app.store.clips(), key=lambda r: r.start_ms)[0].order_id
    out = tmp_path / "b.zip"
    args = ["--config", str(anchored.config), "export", order, "-o", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "anchors     1 witness cosignature(s), RFC 3161 time-stamp, C2PA clip.c2pa.mp4" in text
    trust = tmp_path / "trust.json"
    assert main(["--config", str(anchored.config), "keys", "trust"]) == 0
    trust.write_text(capsys.readouterr().out)
    doc = json.loads(trust.read_text())
    assert doc["witness_quorum"] == 1
    assert len(doc["tsa_roots"]) == 1
    assert main(["verify", str(out), "--trust", str(trust)]) == 0
