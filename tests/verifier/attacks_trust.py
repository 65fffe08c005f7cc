"""Tampered anchored bundles: time-stamps, witness cosignatures, C2PA, revoked keys.

The honest bundle is from a station with a real TSA and witness on 127.0.0.1 and C2PA
credentials (``tests/anchored.py``); its trust file requires a time-stamp, 1 of 1
witnesses and Trusted Content Credentials. ``ctx`` is that :class:`tests.anchored.Anchored`.
As in ``attacks_bundle.py``, a competent forger recomputes the unsigned checksums.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import struct
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import TrustFile
from storage.certs import CredentialFiles, load_credentials, write_credentials
from storage.checkpoint import TlogProof
from storage.cosignature import CosignatureSigner, strip_signatures, with_cosignatures
from storage.entries import Clip, parse_as
from storage.note import Signature, parse
from storage.timestamp import make_request
from tests.servers import make_tsa_keys, serve_tsa
from tests.verifier.attacks import Attack
from tests.verifier.attacks_bundle import BUNDLE_ATTACKS, Members, edit, read, shifted
from verifier.c2pa import ClipClaim, sign_clip

CLIP_ENTRY = "entries/clip.json"
TSQ = "entries/checkpoint.tsq"
TSR = "entries/checkpoint.tsr"
C2PA = "clip.c2pa.mp4"
PROOFS = ("entries/clip.proof", "entries/station-key.proof")
Tamper = Callable[[Path, Any], None]


def attack(
    name: str, check: str, message: str, trust: Callable[[Any], TrustFile] | None = None
) -> Callable[[Tamper], Tamper]:
    def register(tamper: Tamper) -> Tamper:
        BUNDLE_ATTACKS.append(Attack(name, "bundle", tamper, check, message, "anchored", trust))
        return tamper

    return register


def checkpoint_text(m: Members) -> str:
    text, _ = parse(TlogProof.from_bytes(m[PROOFS[0]]).checkpoint)
    return text


def stamp(url: str, text: str) -> tuple[bytes, bytes]:
    request = make_request(text)
    with urllib.request.urlopen(urllib.request.Request(url, data=request)) as answer:  # noqa: S310
        return request, bytes(answer.read())


def restamp(m: Members, url: str) -> None:
    """A fresh time-stamp of the bundle's checkpoint from the TSA at ``url``."""
    m[TSQ], m[TSR] = stamp(url, checkpoint_text(m))


def set_checkpoint(m: Members, change: Callable[[bytes], bytes]) -> None:
    for name in PROOFS:
        proof = TlogProof.from_bytes(m[name])
        m[name] = dataclasses.replace(proof, checkpoint=change(proof.checkpoint)).to_bytes()


def log_only(ctx: Any) -> Callable[[bytes], bytes]:
    return lambda raw: strip_signatures(raw, ctx.trust.log_verifiers())


# -- time -------------------------------------------------------------------------------------


@attack("drop the time-stamp", "time", r"requires an RFC 3161 time-stamp .* has none")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        del m[TSQ], m[TSR]

    edit(path, apply)


@attack("drop the time-stamp response only", "time", r"incomplete: entries/checkpoint\.tsr")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        del m[TSR]

    edit(path, apply)


@attack("a time-stamp of another checkpoint", "time", r"not this checkpoint")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        m[TSQ], m[TSR] = stamp(ctx.tsa.url, checkpoint_text(m).replace("\n", "\n ", 1))

    edit(path, apply)


@attack("a time-stamp answering another request (nonce)", "time", r"does not verify: Nonce")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        _, m[TSR] = stamp(ctx.tsa.url, checkpoint_text(m))  # same imprint, another nonce

    edit(path, apply)


@attack("a back-dated time-stamp", "time", r"not yet valid")
def _(path: Path, ctx: Any) -> None:
    ctx.tsa.fixed = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    try:
        edit(
            path,
            lambda m: m.update(
                zip((TSQ, TSR), stamp(ctx.tsa.url, checkpoint_text(m)), strict=True)
            ),
        )
    finally:
        ctx.tsa.fixed = None


@attack("a time-stamp by a TSA the trust file does not list", "time", r"does not verify")
def _(path: Path, ctx: Any) -> None:
    with serve_tsa(make_tsa_keys("rogue TSA")) as rogue:
        edit(
            path,
            lambda m: m.update(zip((TSQ, TSR), stamp(rogue.url, checkpoint_text(m)), strict=True)),
        )


@attack("flip a byte in the time-stamp token", "time", r"checkpoint\.tsr: ")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        data = bytearray(m[TSR])
        data[len(data) // 2] ^= 0x01
        m[TSR] = bytes(data)

    edit(path, apply)


@attack(
    "the station signs footage dated after its time-stamp",
    "time",
    r"is dated .*, after the TSA's genTime .*: footage dated after its own time-stamp",
)
def _(path: Path, ctx: Any) -> None:
    # A station clock a year ahead (or a file with a chosen --epoch): entry, footage and
    # sealing agree with each other, in a log signed by the real station key under the
    # merchant's certification, time-stamped by the trusted TSA. Only the TSA's time, which
    # the station does not control, shows the times cannot be true. Verify accepted it:
    # only the sealing time was compared, and only when the station clock was behind.
    from tests.verifier.conftest import forge_log

    app = ctx.recording.app
    year = 365 * 86_400_000
    clip = shifted(parse_as(Clip, read(path)[CLIP_ENTRY]), year, sealed=year)
    log = forge_log(path.parent / "ahead", app.station_signer, app.root_signer, clip)

    def apply(m: Members) -> None:
        m.update(
            {
                CLIP_ENTRY: log.clip_entry,
                PROOFS[0]: log.clip_proof,
                "entries/station-key.json": log.key_entry,
                PROOFS[1]: log.key_proof,
            }
        )
        restamp(m, ctx.tsa.url)

    edit(path, apply)


# -- witness ----------------------------------------------------------------------------------


@attack("strip the witness cosignature", "witness", r"by 0 witness\(es\) .* requires 1 of its 1")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: set_checkpoint(m, log_only(ctx)))


@attack("flip a bit in the witness cosignature", "witness", r"witness\.test/w1 .* does not verify")
def _(path: Path, ctx: Any) -> None:
    def change(raw: bytes) -> bytes:
        _, sigs = parse(raw)
        cos = next(s for s in sigs if s.name == "witness.test/w1")
        bad = Signature(cos.name, cos.key_id, cos.signature[:-1] + bytes([cos.signature[-1] ^ 1]))
        return with_cosignatures(log_only(ctx)(raw), [bad])

    edit(path, lambda m: set_checkpoint(m, change))


@attack("move the cosignature's time", "witness", r"does not verify")
def _(path: Path, ctx: Any) -> None:
    def change(raw: bytes) -> bytes:
        _, sigs = parse(raw)
        cos = next(s for s in sigs if s.name == "witness.test/w1")
        (t,) = struct.unpack(">Q", cos.signature[:8])
        moved = Signature(cos.name, cos.key_id, struct.pack(">Q", t - 86400) + cos.signature[8:])
        return with_cosignatures(log_only(ctx)(raw), [moved])

    edit(path, lambda m: set_checkpoint(m, change))


@attack("cosigned by a witness the trust file does not list", "witness", r"by 0 witness")
def _(path: Path, ctx: Any) -> None:
    rogue = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())

    def change(raw: bytes) -> bytes:
        text, _ = parse(raw)
        return with_cosignatures(log_only(ctx)(raw), [rogue.cosign(text, 1_800_000_000)])

    edit(path, lambda m: set_checkpoint(m, change))


# -- C2PA -------------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@attack("drop the C2PA clip", "c2pa", r"requires C2PA Content Credentials")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        del m[C2PA]

    edit(path, apply)


@attack("append a free box to the C2PA clip", "c2pa", r"not the sealed clip byte for byte")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({C2PA: m[C2PA] + box(b"free", b"hidden message!!")}))


@attack("append a skip box to the C2PA clip", "c2pa", r"not the sealed clip byte for byte")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({C2PA: m[C2PA] + box(b"skip", b"evil")}))


@attack("the other order's C2PA clip", "c2pa", r"not the sealed clip byte for byte")
def _(path: Path, ctx: Any) -> None:
    other = read(ctx.other)[C2PA]
    edit(path, lambda m: m.update({C2PA: other}))


@attack("a second C2PA manifest box", "c2pa", r"not the sealed clip byte for byte")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        data = m[C2PA]
        (ftyp,) = struct.unpack(">I", data[:4])
        (size,) = struct.unpack(">I", data[ftyp : ftyp + 4])
        m[C2PA] = data[: ftyp + size] + data[ftyp : ftyp + size] + data[ftyp + size :]

    edit(path, apply)


@attack(
    "the sealed clip without Content Credentials as the C2PA clip",
    "c2pa",
    r"no C2PA manifest box right after its ftyp",
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({C2PA: m["clip.mp4"]}))


@attack("flip a byte inside the C2PA manifest", "c2pa", r"not 'Trusted'|no readable C2PA")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        data = bytearray(m[C2PA])
        (ftyp,) = struct.unpack(">I", data[:4])
        (size,) = struct.unpack(">I", data[ftyp : ftyp + 4])
        data[ftyp + size - 40] ^= 0x01  # inside the COSE signature, near the box's end
        m[C2PA] = bytes(data)

    edit(path, apply)


def _resign(path: Path, creds: Any, **changes: Any) -> None:
    """Replace clip.c2pa.mp4 with the sealed clip signed by ``creds``, claim ``changes``."""

    def apply(m: Members) -> None:
        work = path.parent / "c2pa-work"
        work.mkdir(exist_ok=True)
        (work / "in.mp4").write_bytes(m["clip.mp4"])
        proof = TlogProof.from_bytes(m[PROOFS[0]])
        origin, size, root = checkpoint_text(m).splitlines()[:3]
        entry = json.loads(m["entries/clip.json"])
        claim = ClipClaim(
            entry["clip_id"],
            entry["order_id"],
            hashlib.sha256(b"\0" + m["entries/clip.json"]).hexdigest(),
            origin,
            proof.index,
            int(size),
            root,
        )
        claim = dataclasses.replace(claim, **changes)
        sign_clip(work / "in.mp4", work / "out.mp4", creds, claim, station="station-01")
        m[C2PA] = (work / "out.mp4").read_bytes()

    edit(path, apply)


@attack("C2PA signed with the attacker's own CA", "c2pa", r"validates as 'Valid', not 'Trusted'")
def _(path: Path, ctx: Any) -> None:
    files = CredentialFiles.under(path.parent / "rogue-keys")
    write_credentials(
        files,
        Ed25519PrivateKey.generate(),
        alg="es256",
        station="station-01",
        merchant="Test Shop",
        now=dt.datetime.now(dt.UTC),
    )
    _resign(path, load_credentials(files))


@attack("C2PA assertion names another log index", "c2pa", r"assertion disagrees .* on log_index")
def _(path: Path, ctx: Any) -> None:
    _resign(path, ctx.app.c2pa_credentials(), index=3)


# -- keys over time ---------------------------------------------------------------------------


def revoked_after(after: int) -> Callable[[Any], TrustFile]:
    def trust(ctx: Any) -> TrustFile:
        t = ctx.trust
        logs = tuple(
            dataclasses.replace(g, revoked_after=after, revoked_reason="compromised")
            for g in t.logs
        )
        return dataclasses.replace(t, logs=logs)

    return trust


@attack(
    "a clip signed by the station key after its revocation",
    "signature",
    r"marks compromised after index 5: its signatures after that point do not count",
    trust=revoked_after(5),
)
def _(path: Path, ctx: Any) -> None:
    pass  # the scenario: a thief's clip, the merchant's updated trust file


@attack(
    "a later checkpoint signed by the revoked key",
    "inclusion",
    r"was compromised after index \d+: it cannot sign a checkpoint of size \d+",
    trust=lambda ctx: revoked_after(_clip_index(ctx))(ctx),
)
def _(path: Path, ctx: Any) -> None:
    store = ctx.app.store
    latest = store.latest_checkpoint()

    def apply(m: Members) -> None:
        for name in PROOFS:
            proof = TlogProof.from_bytes(m[name])
            again = store.tlog_proof(proof.index, latest.size)
            m[name] = again.to_bytes()

    edit(path, apply)


def _clip_index(ctx: Any) -> int:
    return TlogProof.from_bytes(read(ctx.bundle)[PROOFS[0]]).index
