"""Witness cosignatures (tlog-cosignature) and the add-checkpoint wire format."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import Ed25519Signer, FormatError, SignatureError
from storage.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from storage.cosignature import (
    AddCheckpoint,
    CosignatureSigner,
    CosignatureVerifier,
    cosignatures,
    parse_cosignature_lines,
    signature_lines,
    signed_message,
    split_signature,
    strip_signatures,
    with_cosignatures,
)
from storage.note import parse

ORIGIN = "example.com/acme/station-01"


def witness(name: str = "witness.example/w1") -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519PrivateKey.generate())


def checkpoint() -> tuple[Ed25519Signer, bytes]:
    log = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
    return log, sign_checkpoint(Checkpoint(ORIGIN, 20852163, bytes(range(32))), log)


def test_signed_message_is_the_spec_layout() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert signed_message(text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + text.encode()
    )


def test_spec_example_line_decodes_to_76_bytes_with_its_timestamp() -> None:
    line = (
        "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
        "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    )
    (sig,) = parse_cosignature_lines(line.encode())
    assert len(sig.signature) == 72
    assert split_signature(sig.signature)[0] == 1679315147


def test_vkey_round_trip_and_key_id_uses_type_0x04() -> None:
    w = witness()
    vkey = w.verifier.vkey
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == w.verifier
    log = Ed25519Signer("w", Ed25519PrivateKey.generate())
    with pytest.raises(FormatError, match="0x04"):
        CosignatureVerifier.from_vkey(log.verifier.vkey)  # a log key is not a witness key


def test_cosignature_verifies_and_the_log_note_still_opens() -> None:
    log, raw = checkpoint()
    w = witness()
    text, _ = parse(raw)
    cosigned = with_cosignatures(raw, [w.cosign(text, 1_800_000_000)])
    (found,) = cosignatures(cosigned, [w.verifier])
    assert (found.name, found.time) == ("witness.example/w1", 1_800_000_000)
    # The log's own verifier ignores the witness line (signed-note: unknown keys).
    assert open_checkpoint(cosigned, [log.verifier]).checkpoint.size == 20852163
    assert strip_signatures(cosigned, [log.verifier]) == raw


def test_a_cosignature_on_another_checkpoint_or_time_fails() -> None:
    _, raw = checkpoint()
    w = witness()
    other = "example.com/acme/station-01\n20852164\n" + base64.b64encode(bytes(32)).decode() + "\n"
    sig = w.cosign(other, 1_800_000_000)
    with pytest.raises(SignatureError, match="does not verify"):
        cosignatures(with_cosignatures(raw, [sig]), [w.verifier])
    text, _ = parse(raw)
    good = w.cosign(text, 1_800_000_000)
    moved = type(good)(
        good.name, good.key_id, struct.pack(">Q", 1_800_000_001) + good.signature[8:]
    )
    with pytest.raises(SignatureError):
        cosignatures(with_cosignatures(raw, [moved]), [w.verifier])
    assert cosignatures(with_cosignatures(raw, [good]), [witness("other").verifier]) == []


def test_add_checkpoint_round_trip_and_limits() -> None:
    _, raw = checkpoint()
    req = AddCheckpoint(20852014, (bytes(32), bytes([1]) * 32), raw)
    assert AddCheckpoint.from_bytes(req.to_bytes()) == req
    assert req.to_bytes().startswith(b"old 20852014\nAAAA")
    for bad, message in [
        (b"old 01\n\n" + raw, "decimal"),
        (b"new 1\n\n" + raw, "must start with 'old"),
        (b"old 1\n" + b"AAAA\n" * 64 + b"\n" + raw, "at most 63"),
        (b"old 1\nnot base64!\n\n" + raw, "not base64"),
        (b"old 1\n", "no blank line"),
    ]:
        with pytest.raises(FormatError, match=message):
            AddCheckpoint.from_bytes(bad)


def test_signature_lines_round_trip() -> None:
    w = witness()
    sig = w.cosign("a\n1\n" + base64.b64encode(bytes(32)).decode() + "\n", 5)
    assert parse_cosignature_lines(signature_lines([sig])) == [sig]
    with pytest.raises(FormatError):
        parse_cosignature_lines(b"")
