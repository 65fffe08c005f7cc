"""Signed notes against golang.org/x/mod/sumdb/note's own test vectors (vectors/notes.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import note
from storage._errors import FormatError, SignatureError

V = json.loads((Path(__file__).parent / "vectors" / "notes.json").read_text())
PETER = note.Ed25519Signer.from_skey(V["keys"]["peter"]["skey"])
VERIFIERS = {
    "PeterNeumann": note.Ed25519Verifier.from_vkey(V["keys"]["peter"]["vkey"]),
    "EnochRoot": note.Ed25519Verifier.from_vkey(V["keys"]["enoch"]["vkey"]),
}


def test_keys_match_go() -> None:
    assert PETER.verifier.vkey == V["keys"]["peter"]["vkey"]
    assert f"{PETER.key_id:08x}" == V["keys"]["peter"]["key_hash"]
    assert VERIFIERS["EnochRoot"].vkey == V["keys"]["enoch"]["vkey"]


def test_sign_is_byte_identical_to_go() -> None:
    assert note.sign(V["text"], [PETER]).decode() == V["signed_note"]


def _open_cases() -> list[Any]:
    out = []
    for case in V["open_cases"]:
        if not isinstance(case["verifiers"], list):
            continue  # Go-interface cases (a Verifiers returning the wrong key) have no analogue
        out.append(pytest.param(case, id=case["desc"]))
    return out


@pytest.mark.parametrize("case", _open_cases())
def test_open_matches_go(case: dict[str, Any]) -> None:
    msg = bytes.fromhex(case["msg_hex"]) if case["msg"] is None else case["msg"].encode()
    verifiers = [VERIFIERS[name] for name in case["verifiers"]]
    expect = case["expect"]
    if expect["ok"]:
        opened = note.open_note(msg, verifiers)
        assert opened.text == expect["text"]
        got = [(s.name, f"{s.key_id:08x}") for s in opened.signatures]
        assert got == [(s["name"], s["hash"]) for s in expect["sigs"]]
        got_unverified = [(s.name, f"{s.key_id:08x}") for s in opened.unverified]
        assert got_unverified == [(s["name"], s["hash"]) for s in expect["unverified_sigs"]]
    else:
        # Go's "malformed note" is our FormatError; signature problems are SignatureError.
        error = FormatError if expect["error"] == "malformed note" else SignatureError
        with pytest.raises(error):
            note.open_note(msg, verifiers)


def test_parse_keeps_blank_lines_in_text() -> None:
    ex = V["c2sp_examples"]["signed_note_example"]
    text, sigs = note.parse(ex["note"].encode())
    assert text == ex["expected_text"]
    assert [s.name for s in sigs] == ["quasimodo.example/salvatore"]


@pytest.mark.parametrize("vkey", V["key_parsing_cases"]["invalid_vkeys"], ids=lambda v: v["reason"])
def test_invalid_vkeys(vkey: dict[str, str]) -> None:
    with pytest.raises(FormatError):
        note.Ed25519Verifier.from_vkey(vkey["vkey"])


def test_every_substring_of_a_vkey_is_rejected() -> None:
    vkey = V["keys"]["peter"]["vkey"]
    for i in range(len(vkey)):
        for j in range(i, len(vkey)):
            if (i, j) == (0, len(vkey)):
                continue
            with pytest.raises(FormatError):
                note.Ed25519Verifier.from_vkey(vkey[i:j])


def test_roundtrip_and_tamper() -> None:
    signer = note.Ed25519Signer("example.com/log", Ed25519PrivateKey.generate())
    other = note.Ed25519Signer("example.com/log", Ed25519PrivateKey.generate())
    raw = note.sign("hello\nworld\n", [signer])
    assert note.open_note(raw, [signer.verifier]).text == "hello\nworld\n"
    # unknown key only: rejected; a known key's bad signature: rejected
    with pytest.raises(SignatureError, match="no signature by a trusted key"):
        note.open_note(raw, [other.verifier])
    tampered = raw.replace(b"world", b"w0rld")
    with pytest.raises(SignatureError, match="does not verify"):
        note.open_note(tampered, [signer.verifier])


@pytest.mark.parametrize(
    "text", ["no newline", "control\x01char\n"], ids=["no final newline", "control character"]
)
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(FormatError):
        note.sign(text, [PETER])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\tname"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(FormatError):
        note.Ed25519Signer(name, Ed25519PrivateKey.generate())
