"""``packseal witness``: the tlog-witness add-checkpoint rules, over real HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from packseal.cli import main
from packseal.witness import Witness, WitnessError, init_witness
from storage import Ed25519Signer, Store
from storage.checkpoint import Checkpoint, sign_checkpoint
from storage.cosignature import (
    AddCheckpoint,
    CosignatureVerifier,
    cosignatures,
    parse_cosignature_lines,
    with_cosignatures,
)
from tests.factories import segment
from tests.servers import serve_witness

ORIGIN = "example.com/acme/station-01"


def post(url: str, body: bytes) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req) as answer:  # noqa: S310
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


@pytest.fixture
def log(tmp_path: Path) -> tuple[Store, Ed25519Signer]:
    store = Store.open(f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "blobs", ORIGIN, create=True)
    return store, Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())


def grow(store: Store, signer: Ed25519Signer, n: int) -> bytes:
    store.append([segment(store.size() + i) for i in range(n)])
    return store.sign_checkpoint(signer, 0).note


def test_add_checkpoint_rules_and_restart(log: tuple[Store, Ed25519Signer], tmp_path: Path) -> None:
    store, signer = log
    state = tmp_path / "witness"
    w = init_witness(state, "witness.example/w1", [signer.verifier.vkey])
    first = grow(store, signer, 3)
    with serve_witness(state, clock=lambda: 1_800_000_000) as server:
        status, _, body = post(server.url, AddCheckpoint(0, (), first).to_bytes())
        assert status == 200
        (found,) = cosignatures(
            with_cosignatures(first, parse_cosignature_lines(body)), [w.verifier]
        )
        assert found.time == 1_800_000_000
        second = grow(store, signer, 4)
        # 409: the client's old size is not the witness's; the body says which it has.
        status, ctype, body = post(server.url, AddCheckpoint(0, (), second).to_bytes())
        assert (status, ctype, body) == (409, "text/x.tlog.size", b"3\n")
        # 422: a proof that does not lead from 3 to 7.
        bad = tuple(bytes(32) for _ in store.consistency_proof(3, 7))
        assert post(server.url, AddCheckpoint(3, bad, second).to_bytes())[0] == 422
        good = tuple(store.consistency_proof(3, 7))
        assert post(server.url, AddCheckpoint(3, good, second).to_bytes())[0] == 200
        # 403: signed by a key the witness does not trust for the origin.
        stranger = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
        forged = sign_checkpoint(Checkpoint(ORIGIN, 8, bytes(32)), stranger)
        assert post(server.url, AddCheckpoint(7, (), forged).to_bytes())[0] == 403
        # 404: an origin it does not witness.
        other = Ed25519Signer("other.example/log", Ed25519PrivateKey.generate())
        unknown = sign_checkpoint(Checkpoint("other.example/log", 1, bytes(32)), other)
        assert post(server.url, AddCheckpoint(0, (), unknown).to_bytes())[0] == 404
        # 400: old larger than the checkpoint; not the format.
        assert post(server.url, AddCheckpoint(9, (), second).to_bytes())[0] == 400
        assert post(server.url, b"hello")[0] == 400
        # Same size, another root: 409, and the refused note is kept as evidence.
        fork = sign_checkpoint(Checkpoint(ORIGIN, 7, bytes(32)), signer)
        assert post(server.url, AddCheckpoint(7, (), fork).to_bytes())[0] == 409
    assert [p.read_bytes() for p in (state / "refused").iterdir() if p.suffix == ".note"]
    # State survives a restart: the witness still knows size 7.
    with serve_witness(state) as server:
        status, _, body = post(server.url, AddCheckpoint(3, good, second).to_bytes())
        assert (status, body) == (409, b"7\n")
        assert post(server.url, AddCheckpoint(7, (), second).to_bytes())[0] == 200


def test_state_dir_errors_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(WitnessError, match="not a witness state directory"):
        Witness(tmp_path / "nope", lambda: 0.0)
    signer = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    state = tmp_path / "w"
    assert (
        main(
            [
                "witness",
                "init",
                "--state",
                str(state),
                "--name",
                "w.example/1",
                "--log",
                signer.verifier.vkey,
            ]
        )
        == 0
    )
    vkey = capsys.readouterr().out.split()[2]
    assert CosignatureVerifier.from_vkey(vkey).name == "w.example/1"
    assert (state / "witness.key").stat().st_mode & 0o077 == 0
    assert main(["witness", "init", "--state", str(state), "--name", "w.example/1"]) == 2
    assert "already exists" in capsys.readouterr().err
