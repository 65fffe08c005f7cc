"""The trust file: its optional requirements and the key revocation entry."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import Ed25519Signer, FormatError, KeyRevocation, SignatureError, TrustedLog, TrustFile
from storage.cosignature import CosignatureSigner
from storage.entries import from_bytes
from storage.trust import TrustedWitness
from tests.servers import make_tsa_keys

ORIGIN = "example.com/acme/station-01"


def keys() -> tuple[Ed25519Signer, Ed25519Signer]:
    return (
        Ed25519Signer("acme", Ed25519PrivateKey.generate()),
        Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate()),
    )


def test_old_trust_files_still_read_and_round_trip() -> None:
    root, station = keys()
    trust = TrustFile(
        "Acme", root.verifier.vkey, (TrustedLog(ORIGIN, station.verifier.vkey, "s1"),)
    )
    doc = json.loads(trust.to_bytes())
    assert set(doc) == {"format", "merchant", "root", "logs"}  # nothing new unless asked
    assert TrustFile.from_bytes(trust.to_bytes()) == trust


def test_full_trust_file_round_trips() -> None:
    root, station = keys()
    w = CosignatureSigner("witness.example/w1", Ed25519PrivateKey.generate())
    trust = TrustFile(
        "Acme",
        root.verifier.vkey,
        (TrustedLog(ORIGIN, station.verifier.vkey, "s1", 41, "rotated"),),
        tsa_roots=(make_tsa_keys().root_pem,),
        witnesses=(TrustedWitness(w.verifier.vkey),),
        witness_quorum=1,
        c2pa_roots=(make_tsa_keys("ca").root_pem,),
        require_live_source=True,
    )
    assert json.loads(trust.to_bytes())["require_live_source"] is True
    again = TrustFile.from_bytes(trust.to_bytes())
    assert again == trust
    assert again.witness_verifiers() == [w.verifier]
    log = again.logs[0]
    assert log.signs_entry(41)
    assert not log.signs_entry(42)
    assert log.signs_checkpoint(42)
    assert not log.signs_checkpoint(43)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"witness_quorum": 2}, "witness_quorum 2 must be between 0 and the 1"),
        ({"tsa_roots": ["not a pem"]}, "tsa_roots entry 1 is not a PEM"),
        ({"witnesses": [{"vkey": "x+00000000+AQ=="}]}, "witness key"),
        ({"witness_quorum": True}, "must be an integer"),
        ({"require_live_source": "yes"}, "'require_live_source' must be true or false"),
        ({"require_live_source": None}, "'require_live_source' must be true or false"),
    ],
)
def test_bad_requirements_are_format_errors(change: dict[str, object], message: str) -> None:
    root, station = keys()
    w = CosignatureSigner("w", Ed25519PrivateKey.generate())
    doc = json.loads(
        TrustFile(
            "Acme",
            root.verifier.vkey,
            (TrustedLog(ORIGIN, station.verifier.vkey, "s1"),),
            witnesses=(TrustedWitness(w.verifier.vkey),),
            witness_quorum=1,
        ).to_bytes()
    )
    doc.update(change)
    with pytest.raises(FormatError, match=message):
        TrustFile.from_bytes(json.dumps(doc).encode())


def test_key_revocation_entry_round_trips_and_is_signed_by_the_root() -> None:
    root, station = keys()
    entry = KeyRevocation(
        5, ORIGIN, station.verifier.vkey, 10, "compromised", root.verifier.vkey
    ).certified_by(root)
    again = from_bytes(entry.to_bytes())
    assert again == entry
    assert again.to_bytes() == entry.to_bytes()
    entry.verify_certification(root.verifier)
    with pytest.raises(SignatureError):
        entry.verify_certification(keys()[0].verifier)
    forged = KeyRevocation(
        5, ORIGIN, station.verifier.vkey, 99, "compromised", root.verifier.vkey, entry.cert
    )
    with pytest.raises(SignatureError, match="does not verify"):
        forged.verify_certification(root.verifier)
    with pytest.raises(FormatError, match="not a key of origin"):
        KeyRevocation(5, "other.example/log", station.verifier.vkey, 1, "retired", "r")


def test_two_current_keys_for_one_origin_are_refused() -> None:
    # Two stores that share an origin (a second `init`, a copied config) each certify a
    # key; a trust file listing both verified bundles from both histories: a hidden fork.
    root, station = keys()
    other = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    both = (
        TrustedLog(ORIGIN, station.verifier.vkey, "s1"),
        TrustedLog(ORIGIN, other.verifier.vkey, "s1"),
    )
    with pytest.raises(FormatError, match="has 2 keys that are not revoked") as caught:
        TrustFile("Acme", root.verifier.vkey, both)
    assert caught.value.hint is not None
    assert "revoked_after" in caught.value.hint
    assert "station.id" in caught.value.hint
    doc = json.loads(TrustFile("Acme", root.verifier.vkey, both[:1]).to_bytes())
    doc["logs"].append({"origin": ORIGIN, "vkey": other.verifier.vkey, "station": "s1"})
    with pytest.raises(FormatError, match="a log has one current key"):
        TrustFile.from_bytes(json.dumps(doc).encode())
    # A rotation: the old key revoked after an index, the new one current. Still fine.
    rotated = (TrustedLog(ORIGIN, station.verifier.vkey, "s1", 41, "rotated"), both[1])
    assert TrustFile("Acme", root.verifier.vkey, rotated).logs == rotated
    # The same key listed twice is one key, not a fork.
    assert TrustFile("Acme", root.verifier.vkey, (both[0], both[0])).logs[0] == both[0]
