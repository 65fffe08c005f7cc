"""Tampered bundles: every way we know to make a bundle lie, and the check that must catch it.

Each vector tampers with a private copy of the honest bundle (``ctx.bundle``, the first
order's clip) in place. Unless the attack is on the zip itself, the attacker is assumed
competent: after editing, ``SHA256SUMS`` and the manifest's member hashes are recomputed
(:func:`repack`), so the vector shows the *named* check catching it, not the unsigned
checksums. ``ctx`` is :class:`tests.verifier.conftest.AttackContext`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import shutil
import stat
import struct
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage import Ed25519Signer, StationKey, TrustedLog, TrustFile
from storage.checkpoint import Checkpoint, TlogProof
from storage.entries import Clip, SegmentRef, parse_as
from storage.footage import FootageSource
from storage.note import parse, sign
from tests.verifier.attacks import Attack
from verifier.fmp4 import split_bytes
from verifier.timeline import decode_times, empty_edits

Members = dict[str, bytes]
Tamper = Callable[[Path, Any], None]

BUNDLE_ATTACKS: list[Attack] = []

VIDEO = "clip.mp4"
CLIP = "entries/clip.json"
CLIP_PROOF = "entries/clip.proof"
KEY = "entries/station-key.json"
KEY_PROOF = "entries/station-key.proof"
_STORED = {VIDEO, "derived.mp4", "clip.c2pa.mp4", "sheet.png", "sheet.pdf"}


def attack(
    name: str,
    check: str,
    message: str,
    trust: Callable[[Any], TrustFile] | None = None,
    base: Literal["plain", "anchored"] = "plain",
) -> Callable[[Tamper], Tamper]:
    def register(tamper: Tamper) -> Tamper:
        BUNDLE_ATTACKS.append(
            Attack(name, "bundle", tamper, check, message, base=base, trust=trust)
        )
        return tamper

    return register


# -- zip plumbing ------------------------------------------------------------------------------


def read(path: Path) -> Members:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write(path: Path, members: Members | list[tuple[zipfile.ZipInfo | str, bytes]]) -> None:
    items = list(members.items()) if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicates we write on purpose
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in items:
                info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
                if not isinstance(name, zipfile.ZipInfo):
                    stored = name in _STORED
                    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                zf.writestr(info, data)


def repack(path: Path, members: Members) -> None:
    """Write ``members``, re-computing the unsigned checksums as a careful forger would."""
    manifest = json.loads(members["manifest.json"])
    manifest["members"] = {
        n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
        for n, b in members.items()
        if n not in ("manifest.json", "SHA256SUMS")
    }
    if "derived.mp4" not in members:
        manifest["video"]["member"] = VIDEO
    members["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    members["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {n}\n"
        for n, b in sorted(members.items())
        if n != "SHA256SUMS"
    ).encode()
    write(path, members)


def edit(path: Path, change: Callable[[Members], None]) -> None:
    members = read(path)
    change(members)
    repack(path, members)


def set_manifest(m: Members, **changes: object) -> None:
    doc = json.loads(m["manifest.json"])
    doc.update(changes)
    m["manifest.json"] = json.dumps(doc).encode()


def central_header(data: bytes, name: str) -> int:
    """Offset of ``name``'s central directory header in the zip ``data``."""
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        (length,) = struct.unpack_from("<H", data, pos + 28)
        if data[pos + 46 : pos + 46 + length] == name.encode():
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise KeyError(name)


def patch(path: Path, name: str, offset: int, fmt: str, value: int, *, local: bool) -> None:
    """Overwrite one field of ``name``'s central header (and its local header if ``local``)."""
    data = bytearray(path.read_bytes())
    cd = central_header(bytes(data), name)
    struct.pack_into(fmt, data, cd + offset, value)
    if local:
        (header,) = struct.unpack_from("<L", data, cd + 42)
        struct.pack_into(fmt, data, header + offset - 2, value)  # local fields sit 2 earlier
    path.write_bytes(bytes(data))


# -- video plumbing ----------------------------------------------------------------------------


def split(video: bytes) -> tuple[bytes, list[bytes]]:
    layout = split_bytes(video)
    frags = [video[r.start : r.end] for r in layout.fragments]
    return video[layout.init.start : layout.init.end], frags


def video_edit(change: Callable[[list[bytes], Any], None]) -> Tamper:
    """A tamper that edits the list [init, fragment 1, fragment 2, ...] of clip.mp4."""

    def tamper(path: Path, ctx: Any) -> None:
        def apply(m: Members) -> None:
            init, frags = split(m[VIDEO])
            parts = [init, *frags]
            change(parts, ctx)
            m[VIDEO] = b"".join(parts)

        edit(path, apply)

    return tamper


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def other_fragment(ctx: Any) -> bytes:
    """The last fragment of the other order's clip: a segment the first clip does not have."""
    return split(read(ctx.other)[VIDEO])[1][-1]


# -- entry and proof plumbing ------------------------------------------------------------------


def clip_edit(change: Callable[[Clip, Any], Clip]) -> Tamper:
    def tamper(path: Path, ctx: Any) -> None:
        def apply(m: Members) -> None:
            m[CLIP] = change(parse_as(Clip, m[CLIP]), ctx).to_bytes()

        edit(path, apply)

    return tamper


def with_segment(clip: Clip, position: int, **changes: Any) -> Clip:
    segments = list(clip.segments)
    segments[position] = dataclasses.replace(segments[position], **changes)
    return dataclasses.replace(clip, segments=tuple(segments))


def proof_edit(member: str, change: Callable[[TlogProof, Any], TlogProof]) -> Tamper:
    def tamper(path: Path, ctx: Any) -> None:
        def apply(m: Members) -> None:
            m[member] = change(TlogProof.from_bytes(m[member]), ctx).to_bytes()

        edit(path, apply)

    return tamper


def clip_proof_edit(change: Callable[[TlogProof, Any], TlogProof]) -> Tamper:
    return proof_edit(CLIP_PROOF, change)


def resign_checkpoint(proof: TlogProof, signer: Ed25519Signer, **changes: Any) -> TlogProof:
    text, _ = parse(proof.checkpoint)
    cp = dataclasses.replace(Checkpoint.from_text(text), **changes)
    return dataclasses.replace(proof, checkpoint=sign(cp.to_text(), [signer]))


def new_key(name: str) -> Ed25519Signer:
    return Ed25519Signer(name, Ed25519PrivateKey.generate())


def certified(ctx: Any, signer: Ed25519Signer, root: Ed25519Signer) -> bytes:
    honest = parse_as(StationKey, read(ctx.bundle)[KEY])
    return (
        dataclasses.replace(
            honest,
            origin=signer.name,
            vkey=signer.verifier.vkey,
            root=root.verifier.vkey,
            cert="",
        )
        .certified_by(root)
        .to_bytes()
    )


# -- media: the video is not the sealed bytes --------------------------------------------------


@attack("flip a byte in a fragment", "media", r"fragment 3 \(bytes \d+-\d+\) is not a segment")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[3] = flip(p[3], len(p[3]) // 2)


@attack("flip a byte in the init section", "media", r"init section .* does not match the entry")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[0] = flip(p[0], len(p[0]) - 12)


@attack("insert a free box into the init section", "media", r"init section .* does not match")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    (ftyp_size,) = struct.unpack(">I", p[0][:4])
    p[0] = p[0][:ftyp_size] + struct.pack(">I4s", 16, b"free") + bytes(8) + p[0][ftyp_size:]


@attack(
    "drop a fragment in the middle",
    "media",
    r"fragment 5 .* is segment 6: segment\(s\) 5\.\.5 are missing",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    del p[5]


@attack(
    "drop the first fragment",
    "media",
    r"fragment 1 .* is segment 2: segment\(s\) 1\.\.1 are missing",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    del p[1]


@attack(
    "drop the last fragment",
    "media",
    r"holds segments 1\.\.(\d+) of (\d+); the manifest declares 1\.\.\2: segments are missing",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    del p[-1]


@attack(
    "duplicate a fragment", "media", r"fragment 5 .* is segment 4 again: duplicated or out of order"
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.insert(5, p[4])


@attack(
    "swap two fragments",
    "media",
    r"fragment 6 .* is segment 7: segment\(s\) 6\.\.6 are missing or out of order",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[6], p[7] = p[7], p[6]


@attack(
    "insert a fragment from another clip",
    "media",
    r"fragment 3 .* is not a segment of this clip \(expected segment 3",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.insert(3, other_fragment(ctx))


@attack(
    "replace a fragment with one from another clip",
    "media",
    r"fragment 8 .* is not a segment of this clip",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[8] = other_fragment(ctx)


@attack(
    "another order's clip under this order's entry",
    "media",
    r"fragment 1 .* is (segment \d+|not a segment)",
)
def _(path: Path, ctx: Any) -> None:
    other = read(ctx.other)[VIDEO]
    edit(path, lambda m: m.update({VIDEO: other}))


@attack(
    "this clip under another order's entry and proof",
    "media",
    r"fragment 1 .* is not a segment of this clip",
)
def _(path: Path, ctx: Any) -> None:
    other = read(ctx.other)
    video = read(path)[VIDEO]
    members = {**other, VIDEO: video}
    repack(path, members)


@attack("append a top-level free box", "media", r"expected the next fragment .* found box 'free'")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.append(struct.pack(">I4s", 24, b"free") + b"hidden message!!")


@attack("append a top-level skip box", "media", r"found box 'skip'")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.append(struct.pack(">I4s", 12, b"skip") + b"evil")


@attack("append a top-level uuid box", "media", r"found box 'uuid'")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.append(struct.pack(">I4s", 28, b"uuid") + bytes(16) + b"evil")


@attack(
    "append a 2 MB box (refused before parsing)",
    "media",
    r"bytes, but segments 1\.\.\d+ total \d+ bytes .*: bytes were added",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.append(struct.pack(">I4s", 8 + (2 << 20), b"free") + bytes(2 << 20))


@attack("append trailing bytes", "media", r"byte\(s\) left, a box header needs 8")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p.append(b"\x00tail")


@attack("truncate the file", "media", r"truncated file")
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[-1] = p[-1][:-1000]


@attack(
    "drop a fragment from an excerpt",
    "media",
    r"fragment 2 .* is segment 5: segment\(s\) 4\.\.4 are missing",
)
def _(path: Path, ctx: Any) -> None:
    shutil.copy(ctx.excerpt, path)

    def apply(p: list[bytes], _: Any) -> None:
        del p[2]

    video_edit(apply)(path, ctx)


@attack("excerpt claims segments it does not hold", "media", r"fragment 1 .* is segment 3")
def _(path: Path, ctx: Any) -> None:
    shutil.copy(ctx.excerpt, path)

    def apply(m: Members) -> None:
        doc = json.loads(m["manifest.json"])
        doc["video"]["segments"] = [1, 3]  # the file holds positions 2..4
        m["manifest.json"] = json.dumps(doc).encode()

    edit(path, apply)


# -- media: the clip's own timeline (verifier.timeline) moves nothing but decode times ---------


def _timeline(m: Members) -> dict[str, dict[str, int]]:
    timeline: dict[str, dict[str, int]] = json.loads(m["manifest.json"])["video"]["timeline"]
    return timeline


def _set_timeline(m: Members, timeline: dict[str, dict[str, int]] | None) -> None:
    doc = json.loads(m["manifest.json"])
    if timeline is None:
        del doc["video"]["timeline"]
    else:
        doc["video"]["timeline"] = timeline
    m["manifest.json"] = json.dumps(doc).encode()


@attack("a wrong timeline offset", "media", r"fragment 1 .* is not a segment of this clip")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        timeline = _timeline(m)
        timeline["1"]["decode"] += 1024  # one frame at 15 fps
        _set_timeline(m, timeline)

    edit(path, apply)


# The station's own encoder makes no B-frames (station.encoder.bframes: 0), so its init
# sections have no leading empty edit; the anchored station's makes them (tests/anchored.py),
# as x264's veryfast and IP cameras in copy mode do: the vectors on that edit take its bundle.
@attack(
    "the timeline left out (rebased fragments passed off as sealed)",
    "media",
    r"init section .* does not match the entry",
    base="anchored",
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: _set_timeline(m, None))


@attack(
    "a fragment's decode time moved beyond the timeline offset",
    "media",
    r"fragment 3 .* is not a segment of this clip",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    (tfdt,) = decode_times(p[3])
    moved = (tfdt.value + 30 * 1024).to_bytes(tfdt.width, "big")  # two seconds later
    p[3] = p[3][: tfdt.at] + moved + p[3][tfdt.at + tfdt.width :]


@attack(
    "a leading empty edit in the shipped init (the picture delayed)",
    "media",
    r"leading empty edit lasts 60000; a rebased clip carries 0",
    base="anchored",
)
@video_edit
def _(p: list[bytes], ctx: Any) -> None:
    (edit_,) = empty_edits(p[0])
    p[0] = p[0][: edit_.at] + (60_000).to_bytes(edit_.width, "big") + p[0][edit_.at + edit_.width :]


# -- signature: the entries are not what the station and the merchant signed -------------------


_BAD_SIG = r"station signature does not verify"


@attack("edit the order id", "signature", _BAD_SIG)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, order_id="SO-2026-999999")


@attack("edit the order scan time", "signature", _BAD_SIG)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, started=c.started - 30_000)


@attack("edit a tracking id", "signature", _BAD_SIG)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, tracking_ids=("TRK-000000000000",))


@attack("edit the status", "signature", _BAD_SIG)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, status="interrupted", end_reason="crash")


@attack("edit a segment hash to match a replaced fragment", "signature", _BAD_SIG)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        init, frags = split(m[VIDEO])
        frags[4] = flip(frags[4], len(frags[4]) - 7)
        m[VIDEO] = init + b"".join(frags)
        forged = with_segment(
            parse_as(Clip, m[CLIP]), 4, sha256=hashlib.sha256(frags[4]).hexdigest()
        )
        m[CLIP] = forged.to_bytes()

    edit(path, apply)


@attack("entry signed by an uncertified key", "signature", r"names signing key .*, expected")
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, order_id="SO-2026-999999").signed_by(new_key(ctx.station.name))


@attack("entry re-signed by another key under the station's key id", "signature", _BAD_SIG)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    forged = dataclasses.replace(c, order_id="SO-2026-999999").signed_by(new_key(c.station))
    return dataclasses.replace(forged, key=c.key)


@attack(
    "certification signed by another root",
    "signature",
    r"certified by root .*, expected the trusted root",
)
def _(path: Path, ctx: Any) -> None:
    forged = certified(ctx, ctx.station, new_key("test"))
    edit(path, lambda m: m.update({KEY: forged}))


@attack(
    "certification forged in the trusted root's name",
    "signature",
    r"root's certification signature does not verify",
)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        honest = parse_as(StationKey, m[KEY])
        forged = dataclasses.replace(honest, station_name="Evil station").certified_by(
            new_key("test")
        )
        m[KEY] = dataclasses.replace(forged, root=honest.root).to_bytes()

    edit(path, apply)


@attack(
    "station certified for a log the trust file does not list",
    "signature",
    r"which the trust file does not list",
)
def _(path: Path, ctx: Any) -> None:
    rogue = new_key("evil.example/rogue-station")
    key = certified(ctx, rogue, ctx.root)  # a root that certified too much: still not trusted

    def apply(m: Members) -> None:
        m[KEY] = key
        m[CLIP] = parse_as(Clip, m[CLIP]).signed_by(rogue).to_bytes()

    edit(path, apply)


@attack(
    "station key the trust file does not list for that log",
    "signature",
    r"the trust file lists another key for log",
)
def _(path: Path, ctx: Any) -> None:
    rotated = new_key(ctx.station.name)
    key = certified(ctx, rotated, ctx.root)

    def apply(m: Members) -> None:
        m[KEY] = key
        m[CLIP] = parse_as(Clip, m[CLIP]).signed_by(rotated).to_bytes()

    edit(path, apply)


@attack(
    "clip entry that is not JSON",
    "signature",
    r"entries/clip\.json is not a valid clip entry: .*not JSON",
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({CLIP: b"{order: SO-2026-999999}"}))


@attack(
    "station-key entry in place of the clip entry",
    "signature",
    r"expected a clip entry, found a station-key entry",
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({CLIP: m[KEY]}))


@attack(
    "clip names another station (signed with the station key)",
    "signature",
    r"the clip names station 'station-99'",
)
@clip_edit
def _(c: Clip, ctx: Any) -> Clip:
    return dataclasses.replace(c, station="station-99").signed_by(ctx.station)


@attack(
    "a whole bundle forged with the attacker's keys and trust file",
    "signature",
    r"certified by root .*, expected the trusted root",
)
def _(path: Path, ctx: Any) -> None:
    forged = ctx.attacker
    trust = TrustFile(
        "Test Shop",
        ctx.attacker_root.verifier.vkey,
        (TrustedLog(forged.signer.name, forged.signer.verifier.vkey, "station-01"),),
    )

    def apply(m: Members) -> None:
        m.update(
            {
                KEY: forged.key_entry,
                KEY_PROOF: forged.key_proof,
                CLIP: forged.clip_entry,
                CLIP_PROOF: forged.clip_proof,
                "trust.json": trust.to_bytes(),
            }
        )

    edit(path, apply)


# -- timeline ----------------------------------------------------------------------------------


@attack(
    "a gap inside a clip (signed by the station key)",
    "timeline",
    r"gap of 1\.0 s between segment 4 .* and segment 5",
)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        clip = parse_as(Clip, m[CLIP])
        ref: SegmentRef = clip.segments[4]
        m[CLIP] = with_segment(clip, 4, start=ref.start + 1000).signed_by(ctx.station).to_bytes()

    edit(path, apply)


# -- inclusion: the entries are not in the trusted log -----------------------------------------


_NOT_LEAF = r"entry is not leaf \d+ of .* at size \d+"


@attack("proof index + 1", "inclusion", _NOT_LEAF)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return dataclasses.replace(p, index=p.index + 1)


@attack("proof index - 1", "inclusion", _NOT_LEAF)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return dataclasses.replace(p, index=p.index - 1)


@attack("flip a bit of a proof hash", "inclusion", _NOT_LEAF)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return dataclasses.replace(p, hashes=(flip(p.hashes[0], 5), *p.hashes[1:]))


@attack("drop a proof hash", "inclusion", _NOT_LEAF)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return dataclasses.replace(p, hashes=p.hashes[:-1])


@attack("add a proof hash", "inclusion", _NOT_LEAF)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return dataclasses.replace(p, hashes=(*p.hashes, hashlib.sha256(b"x").digest()))


@attack(
    "station-key proof of another index", "inclusion", r"entries/station-key\.proof: " + _NOT_LEAF
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({KEY_PROOF: m[CLIP_PROOF]}))


@attack(
    "checkpoint origin edited", "inclusion", r"no trusted key for log origin 'evil\.example/log'"
)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    text, sigs = parse(p.checkpoint)
    body = text.split("\n", 1)[1]
    note = f"evil.example/log\n{body}\n" + "".join(s.line() for s in sigs)
    return dataclasses.replace(p, checkpoint=note.encode())


@attack("checkpoint root edited", "inclusion", r"note signature by .* does not verify")
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    text, sigs = parse(p.checkpoint)
    origin, size, _root = text[:-1].split("\n")[:3]
    fake = base64.b64encode(hashlib.sha256(b"fake").digest()).decode()
    note = f"{origin}\n{size}\n{fake}\n\n" + "".join(s.line() for s in sigs)
    return dataclasses.replace(p, checkpoint=note.encode())


@attack(
    "checkpoint signed by a key the trust file does not list",
    "inclusion",
    r"note has no signature by a trusted key",
)
@clip_proof_edit
def _(p: TlogProof, ctx: Any) -> TlogProof:
    return resign_checkpoint(p, new_key(ctx.station.name))


@attack(
    "entry and proof from another trusted station's log",
    "inclusion",
    r"the checkpoint is of log packseal\.local/test/station-02",
)
def _(path: Path, ctx: Any) -> None:
    second = ctx.second
    edit(path, lambda m: m.update({CLIP: second.clip_entry, CLIP_PROOF: second.clip_proof}))


# -- facts: the human-readable parts name another order ----------------------------------------


@attack(
    "README from another order",
    "facts",
    r"README\.txt names order SO-\S+; the signed entry is order SO-\S+: the README is not",
)
def _(path: Path, ctx: Any) -> None:
    # The clip verifies; a person reading the README first saw another order's facts, and
    # verify said nothing.
    other = read(ctx.other)
    edit(path, lambda m: m.update({"README.txt": other["README.txt"]}))


@attack(
    "sheet from another order",
    "facts",
    r"sheet\.png's QR code says 'entry [0-9a-f]{64}', the signed entry is 'entry [0-9a-f]{64}'",
)
def _(path: Path, ctx: Any) -> None:
    other = read(ctx.other)
    edit(path, lambda m: m.update({n: other[n] for n in ("sheet.png", "sheet.pdf")}))


# -- time: footage dated after it was sealed (no time-stamp needed to see it) -----------------


def shifted(clip: Clip, ms: int, *, sealed: int = 0) -> Clip:
    """``clip`` with every footage time ``ms`` later (and its sealing ``sealed`` later)."""
    return dataclasses.replace(
        clip,
        time=clip.time + sealed,
        started=clip.started + ms,
        ended=clip.ended + ms,
        segments=tuple(
            dataclasses.replace(r, start=r.start + ms, end=r.end + ms) for r in clip.segments
        ),
        scans=tuple(dataclasses.replace(sc, t=sc.t + ms) for sc in clip.scans),
    )


@attack(
    "a trusted station seals footage dated after the sealing",
    "time",
    r"segment \d+ end is dated .*, \d+ s after the station sealed the entry",
)
def _(path: Path, ctx: Any) -> None:
    # Everything is genuine and consistent (the merchant's second station, its real log,
    # its certification): only the footage times claim a day after the entry was sealed,
    # as a file imported with a chosen --epoch, or a clock set ahead, would. Verify
    # accepted it: only the sealing time was ever compared.
    from tests.verifier.conftest import forge_log

    clip = parse_as(Clip, read(path)[CLIP])
    # A day after now: the log stamps an entry's time when it is appended.
    ahead = round(time.time() * 1000) - clip.start_ms + 86_400_000
    log = forge_log(path.parent / "future", ctx.second.signer, ctx.root, shifted(clip, ahead))
    edit(
        path,
        lambda m: m.update(
            {
                CLIP: log.clip_entry,
                CLIP_PROOF: log.clip_proof,
                KEY: log.key_entry,
                KEY_PROOF: log.key_proof,
            }
        ),
    )


@attack(
    "proof against a checkpoint that does not cover the entry", "inclusion", r"index \d+ .*size"
)
def _(path: Path, ctx: Any) -> None:
    log = ctx.recording.app.store._log
    old = next(cp for cp in log.checkpoints() if cp.size <= 2)

    def apply(m: Members) -> None:
        proof = TlogProof.from_bytes(m[CLIP_PROOF])
        m[CLIP_PROOF] = dataclasses.replace(proof, hashes=(), checkpoint=old.note).to_bytes()

    edit(path, apply)


@attack(
    "a forked log that certifies the station key after the clip",
    "inclusion",
    r"certified at index 1, not before the clip at index 0",
)
def _(path: Path, ctx: Any) -> None:
    from tests.verifier.conftest import forge_log

    fork = forge_log(
        ctx.workdir / f"fork-{path.parent.name}",
        ctx.station,
        ctx.root,
        parse_as(Clip, read(path)[CLIP]),
        resign=False,
        key_after_clip=True,
    )

    def apply(m: Members) -> None:
        m.update(
            {
                KEY: fork.key_entry,
                KEY_PROOF: fork.key_proof,
                CLIP: fork.clip_entry,
                CLIP_PROOF: fork.clip_proof,
            }
        )

    edit(path, apply)


@attack("proof that is not a tlog-proof", "inclusion", r"is not a C2SP tlog-proof")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({CLIP_PROOF: b"trust me\n\n"}))


# -- zip: the container is unsafe or not the format --------------------------------------------


def add_member(name: str, data: bytes = b"x") -> Tamper:
    def tamper(path: Path, ctx: Any) -> None:
        write(path, [*read(path).items(), (name, data)])

    return tamper


attack("zip-slip: ../ in a name", "zip", r"climbs out of the bundle")(add_member("../evil.sh"))
attack("zip-slip: absolute name", "zip", r"is an absolute path")(add_member("/etc/cron.d/evil"))
attack("zip-slip: backslash name", "zip", r"contains a backslash")(add_member("..\\evil.bat"))
attack("zip-slip: drive letter", "zip", r"starts with a drive letter")(add_member("C:/evil.bat"))
attack("unexpected extra member", "zip", r"unexpected member 'notes\.txt'")(add_member("notes.txt"))


@attack("a trust file inside the bundle", "zip", r"a trust file inside a bundle is never used")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({"trust.json": ctx.trust.to_bytes()}))


@attack("zip bomb: a member that expands 1000x", "zip", r"expands \d+x .*: a zip bomb")
def _(path: Path, ctx: Any) -> None:
    members = read(path)
    members["sheet.pdf"] = bytes(8 << 20)
    items: list[tuple[zipfile.ZipInfo | str, bytes]] = []
    for name, data in members.items():
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        items.append((info, data))
    write(path, items)


@attack("zip bomb: a huge declared size", "zip", r"declares 4000000000 bytes, more than")
def _(path: Path, ctx: Any) -> None:
    patch(path, "README.txt", 24, "<L", 4_000_000_000, local=False)


@attack("duplicate member names", "zip", r"member 'entries/clip\.json' appears twice")
def _(path: Path, ctx: Any) -> None:
    members = read(path)
    forged = dataclasses.replace(parse_as(Clip, members[CLIP]), order_id="SO-2026-999999")
    write(path, [*members.items(), (CLIP, forged.to_bytes())])


@attack("a symlink member", "zip", r"member 'sheet\.png' is a symbolic link")
def _(path: Path, ctx: Any) -> None:
    members = read(path)
    link = zipfile.ZipInfo("sheet.png")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    items: list[tuple[zipfile.ZipInfo | str, bytes]] = [
        (n, b) for n, b in members.items() if n != "sheet.png"
    ]
    write(path, [*items, (link, b"/etc/passwd")])


@attack("a missing member", "zip", r"member 'entries/clip\.proof' is missing")
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        del m[CLIP_PROOF]

    edit(path, apply)


@attack(
    "a member changed after export", "zip", r"member 'sheet\.png': sha256 differs from SHA256SUMS"
)
def _(path: Path, ctx: Any) -> None:
    members = read(path)
    members["sheet.png"] = members["sheet.png"][:-1] + b"!"
    write(path, members)


@attack(
    "SHA256SUMS names another video hash",
    "zip",
    r"member 'clip\.mp4': sha256 differs from SHA256SUMS",
)
def _(path: Path, ctx: Any) -> None:
    # The video was never hashed against SHA256SUMS: the zip check said its hashes match.
    members = read(path)
    sums = members["SHA256SUMS"].decode().splitlines()
    line = next(i for i, x in enumerate(sums) if x.endswith(f"  {VIDEO}"))
    sums[line] = f"{'ab' * 32}  {VIDEO}"
    members["SHA256SUMS"] = ("\n".join(sums) + "\n").encode()
    write(path, members)


@attack("too many members", "zip", r"the zip has 50 members, more than 32")
def _(path: Path, ctx: Any) -> None:
    members = read(path)
    write(path, [*members.items(), *((f"pad/{i}", b"") for i in range(50 - len(members)))])


@attack("an encrypted member", "zip", r"member 'README\.txt' is encrypted")
def _(path: Path, ctx: Any) -> None:
    patch(path, "README.txt", 8, "<H", 0x1, local=True)


@attack("an unsupported compression method", "zip", r"uses compression method 14")
def _(path: Path, ctx: Any) -> None:
    patch(path, "README.txt", 10, "<H", 14, local=True)


@attack("local header names another file", "zip", r"is named b'README\.txX' in its local header")
def _(path: Path, ctx: Any) -> None:
    data = bytearray(path.read_bytes())
    (header,) = struct.unpack_from("<L", data, central_header(bytes(data), "README.txt") + 42)
    data[header + 30 + len("README.txt") - 1] = ord("X")
    path.write_bytes(bytes(data))


@attack(
    "central directory points outside the file",
    "zip",
    r"local header offset \d+ is outside the file",
)
def _(path: Path, ctx: Any) -> None:
    # Found by fuzzing: zipfile accepts the offset, and seeking to it raised a bare OSError.
    patch(path, "README.txt", 42, "<L", 0xFFFFFFF0, local=False)


@attack("two videos", "zip", r"expected one video \(clip\.mp4 or derived\.mp4\), found 2")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({"derived.mp4": m[VIDEO]}))


# -- facts: the bundle's labels disagree with the signed entry ---------------------------------


@attack("manifest names another order", "facts", r"the manifest's order id is SO-2026-999999")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: set_manifest(m, order_id="SO-2026-999999"))


@attack("manifest names another log index", "facts", r"the manifest's log index is 3,")
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: set_manifest(m, clip_index=3))


# Time-stamps, witnesses, C2PA and revoked keys: vectors on the anchored bundle.
from tests.verifier import attacks_trust  # noqa: E402, F401


def _check_unique() -> None:
    names = [a.name for a in BUNDLE_ATTACKS]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates


_check_unique()


# -- where the footage came from (issue 13 item 3) ----------------------------------------------


def live_only(ctx: Any) -> TrustFile:
    """The merchant's trust file, now accepting only footage filmed live."""
    return dataclasses.replace(ctx.trust, require_live_source=True)


@attack(
    "demo footage under a trust file that requires live footage",
    "source",
    r"requires live footage .*from: demo scene demo:1: synthetic footage, NOT a camera",
    trust=live_only,
)
def _(path: Path, ctx: Any) -> None:
    pass  # the honest bundle of the demo recording, judged by a stricter trust file


@attack(
    "an imported file, sealed by a trusted station, under a live-only trust file",
    "source",
    r"requires live footage .*from: imported file packing\.mp4 sha256 [0-9a-f]{64}: NOT live",
    trust=live_only,
)
def _(path: Path, ctx: Any) -> None:
    # Everything genuine (the merchant's second station, its log, its certification): the
    # footage was a file imported with a chosen --epoch, and its entry says so.
    from tests.verifier.conftest import forge_log

    clip = parse_as(Clip, read(path)[CLIP])
    imported = FootageSource("file", name="packing.mp4", sha256=hashlib.sha256(b"x").hexdigest())
    log = forge_log(
        path.parent / "imported",
        ctx.second.signer,
        ctx.root,
        dataclasses.replace(clip, source=imported),
    )
    edit(
        path,
        lambda m: m.update(
            {
                CLIP: log.clip_entry,
                CLIP_PROOF: log.clip_proof,
                KEY: log.key_entry,
                KEY_PROOF: log.key_proof,
            }
        ),
    )


@attack(
    "claim a live camera for demo footage (the source is signed)",
    "signature",
    r"station signature does not verify",
    trust=live_only,
)
def _(path: Path, ctx: Any) -> None:
    camera = FootageSource("camera", device="/dev/video0", card="HD Pro Webcam C920")
    clip_edit(lambda c, _: dataclasses.replace(c, source=camera))(path, ctx)


@attack(
    "drop the source from a clip entry (the station signed it)",
    "signature",
    r"station signature does not verify",
)
def _(path: Path, ctx: Any) -> None:
    clip_edit(lambda c, _: dataclasses.replace(c, source=None))(path, ctx)


# -- two camera views (issue 12): the attacks run on a bundle of a two-camera clip -------------

SIDE = "clip.side.mp4"


def two_view_attack(name: str, check: str, message: str) -> Callable[[Tamper], Tamper]:
    def register(tamper: Tamper) -> Tamper:
        BUNDLE_ATTACKS.append(Attack(name, "bundle", tamper, check, message, base="twoview"))
        return tamper

    return register


def _manifest_views(m: Members, change: Callable[[list[dict[str, Any]]], None]) -> None:
    doc = json.loads(m["manifest.json"])
    change(doc["views"])
    if not doc["views"]:
        del doc["views"]
    m["manifest.json"] = json.dumps(doc).encode()


def side_edit(change: Callable[[list[bytes], Any], None]) -> Tamper:
    """A tamper that edits the list [init, fragment 1, ...] of the side view's video."""

    def tamper(path: Path, ctx: Any) -> None:
        def apply(m: Members) -> None:
            init, frags = split(m[SIDE])
            parts = [init, *frags]
            change(parts, ctx)
            m[SIDE] = b"".join(parts)

        edit(path, apply)

    return tamper


@two_view_attack(
    "two views: the side view's video left out",
    "media",
    r"view side \(clip\.side\.mp4\): the view's video is missing from the bundle",
)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        del m[SIDE]
        _manifest_views(m, lambda views: views.clear())

    edit(path, apply)


@two_view_attack(
    "two views: one fragment of the side view dropped",
    "media",
    r"view side \(clip\.side\.mp4\): fragment 3 .* is segment 4: segment\(s\) 3\.\.3 are missing",
)
@side_edit
def _(p: list[bytes], ctx: Any) -> None:
    del p[3]


@two_view_attack(
    "two views: a byte of a side fragment flipped",
    "media",
    r"view side \(clip\.side\.mp4\): fragment 2 .* is not a segment of this clip",
)
@side_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[2] = flip(p[2], len(p[2]) // 2)


@two_view_attack(
    "two views: the side view's init section replaced",
    "media",
    r"view side \(clip\.side\.mp4\): init section .* does not match the entry",
)
@side_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[0] = split(read(ctx.bundle)[VIDEO])[0]  # the top camera's init section


@two_view_attack(
    "two views: the views' videos swapped",
    "media",
    r"view top \(clip\.mp4\): init section .* does not match the entry",
)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        m[VIDEO], m[SIDE] = m[SIDE], m[VIDEO]
        doc = json.loads(m["manifest.json"])
        top, side = doc["video"]["timeline"], doc["views"][0]["timeline"]
        doc["video"]["timeline"], doc["views"][0]["timeline"] = side, top
        m["manifest.json"] = json.dumps(doc).encode()

    edit(path, apply)


@two_view_attack(
    "two views: the side view of another order's clip",
    "media",
    r"view side \(clip\.side\.mp4\): (init section|fragment 1 .* is not a segment of this clip"
    r"|clip\.side\.mp4 is \d+ bytes, but segments .* bytes were added)",
)
def _(path: Path, ctx: Any) -> None:
    # The manifest kept as it was: its range is the one verify recomputes from the entry.
    edit(path, lambda m: m.update({SIDE: read(ctx.other)[SIDE]}))


@two_view_attack(
    "two views: an excerpt's side view widened to the whole clip",
    "media",
    r"view side \(clip\.side\.mp4\): the manifest declares segments 1\.\.\d+ of \d+; beside the "
    r"primary view's segments the bundle carries the view's \d+\.\.\d+",
)
def _(path: Path, ctx: Any) -> None:
    whole = read(ctx.bundle)
    shutil.copy(ctx.excerpt, path)

    def apply(m: Members) -> None:
        m[SIDE] = whole[SIDE]
        theirs = json.loads(whole["manifest.json"])["views"]
        _manifest_views(m, lambda views: views.__setitem__(slice(None), theirs))

    edit(path, apply)


@two_view_attack(
    "two views: a third view's video added",
    "media",
    r"clip\.front\.mp4 is not a view of this clip \(its signed entry names: top, side\)",
)
def _(path: Path, ctx: Any) -> None:
    edit(path, lambda m: m.update({"clip.front.mp4": m[SIDE]}))


@two_view_attack(
    "two views: the side view dropped from the clip entry",
    "signature",
    _BAD_SIG,
)
def _(path: Path, ctx: Any) -> None:
    def apply(m: Members) -> None:
        clip = parse_as(Clip, m[CLIP])
        m[CLIP] = dataclasses.replace(clip, views=None).to_bytes()
        del m[SIDE]
        _manifest_views(m, lambda views: views.clear())

    edit(path, apply)


@two_view_attack(
    "two views: a top fragment put in the side view's place",
    "media",
    r"view side \(clip\.side\.mp4\): fragment 1 .* is not a segment of this clip",
)
@side_edit
def _(p: list[bytes], ctx: Any) -> None:
    p[1] = split(read(ctx.bundle)[VIDEO])[1][0]


@attack(
    "a view file added to a one-camera bundle",
    "media",
    r"clip\.extra\.mp4 is not a view of this clip \(its signed entry names no further views\)",
)
def _(path: Path, ctx: Any) -> None:
    # Listed in SHA256SUMS and the manifest's members (repack): only the entry can refuse it.
    edit(path, lambda m: m.update({"clip.extra.mp4": m[VIDEO]}))


# -- claim: the claim section (claim/) cites footage of this clip only --------------------------

# A one-pixel PNG: the section's pages and strips are for people; verify reads their hashes.
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)


def claim_section(clip: Clip, *, photos: int = 1, cited: int = 2) -> Members:
    """An honest claim section of ``clip`` (as `packseal claim` writes one): each photo
    compared with a frame of the clip's segment ``cited`` (1-based)."""
    ref = clip.segments[cited - 1]
    doc = {
        "format": "packseal-claim/v1",
        "order_id": clip.order_id,
        "clip_id": clip.clip_id,
        "checked_at": "2026-11-20T08:00:00Z",
        "statement": "packseal reports labels found and regions that differ.",
        "footage": {"candidate_frames": 2 * len(clip.segments), "skipped": []},
        "listing": None,
        "photos": [
            {
                "name": f"buyer-{n}.jpg",
                "sha256": hashlib.sha256(f"photo {n}".encode()).hexdigest(),
                "size": 1000 + n,
                "findings": [],
                "footage": {
                    "outcome": "differs",
                    "reference": {
                        "source": "footage",
                        "clip_id": clip.clip_id,
                        "segment": cited,
                        "segments": len(clip.segments),
                        "seq": ref.seq,
                        "segment_sha256": ref.sha256,
                        "t_ms": ref.start + 400,
                        "frame": 6,
                    },
                    "candidates": [],
                },
                "annotated": f"claim-{n}.png",
            }
            for n in range(1, photos + 1)
        ],
    }
    members = {
        "claim/claim.json": json.dumps(doc, indent=2).encode(),
        "claim/claim.png": _PIXEL,
        "claim/claim.pdf": b"%PDF-1.4 claim report\n%%EOF\n",
    }
    members.update({f"claim/claim-{n}.png": _PIXEL for n in range(1, photos + 1)})
    return members


def add_claim(path: Path, ctx: Any, change: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Add an honest claim section of the bundle's clip, its claim.json edited by ``change``."""

    def apply(m: Members) -> None:
        section = claim_section(parse_as(Clip, m[CLIP]))
        if change is not None:
            doc = json.loads(section["claim/claim.json"])
            change(doc)
            section["claim/claim.json"] = json.dumps(doc).encode()
        m.update(section)

    edit(path, apply)


def _reference(doc: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = doc["photos"][0]["footage"]["reference"]
    return ref


@attack(
    "claim report citing a segment not in the clip",
    "claim",
    r"claim/claim\.json photo 1 cites segment 2 of \d+ with sha256 [0-9a-f]{64}, which is not "
    r"that segment of this clip's signed entry \(other footage\)",
)
def _(path: Path, ctx: Any) -> None:
    # A frame of another order's footage (a segment clips[0] does not hold) passed off as
    # this order's packing: the report says "differs" against the wrong product.
    ours = {s.sha256 for s in ctx.clips[0].segments}
    foreign = next(s for s in ctx.clips[1].segments if s.sha256 not in ours)
    add_claim(path, ctx, lambda d: _reference(d).update(segment_sha256=foreign.sha256))


@attack(
    "claim report citing a frame of another clip",
    "claim",
    r"claim/claim\.json photo 1 cites a frame of clip \S+, not of this bundle's clip \S+",
)
def _(path: Path, ctx: Any) -> None:
    other = ctx.clips[1]
    add_claim(
        path,
        ctx,
        lambda d: _reference(d).update(
            clip_id=other.clip_id, segment_sha256=other.segments[1].sha256
        ),
    )


@attack(
    "claim report citing a time outside its segment",
    "claim",
    r"claim/claim\.json photo 1 cites a frame at \d+ ms, outside segment 2 \(\d+\.\.\d+ ms\)",
)
def _(path: Path, ctx: Any) -> None:
    add_claim(path, ctx, lambda d: _reference(d).update(t_ms=ctx.clips[0].segments[4].start))


@attack("claim.json garbled", "claim", r"claim/claim\.json is not JSON: 「.+」")
def _(path: Path, ctx: Any) -> None:
    add_claim(path, ctx)
    edit(path, lambda m: m.update({"claim/claim.json": b'{"format": "packseal-claim/v1", "pho'}))


@attack(
    "claim report of another order",
    "claim",
    r"claim/claim\.json is a report of order id SO-\S+; the bundle's signed entry is of SO-",
)
def _(path: Path, ctx: Any) -> None:
    add_claim(path, ctx, lambda d: d.update(order_id=ctx.clips[1].order_id))


@attack(
    "claim strip the report does not name",
    "claim",
    r"claim/claim-2\.png is in the claim section but claim/claim\.json names it not",
)
def _(path: Path, ctx: Any) -> None:
    add_claim(path, ctx)
    edit(path, lambda m: m.update({"claim/claim-2.png": _PIXEL}))


@attack("claim member not in SHA256SUMS", "zip", r"SHA256SUMS does not list 'claim/claim-1\.png'")
def _(path: Path, ctx: Any) -> None:
    # Added after export by someone who did not rewrite the checksums (as a member of the
    # format must be listed, a claim strip too).
    add_claim(path, ctx)
    members = read(path)
    sums = members["SHA256SUMS"].decode().splitlines()
    members["SHA256SUMS"] = "".join(
        f"{line}\n" for line in sums if not line.endswith("claim/claim-1.png")
    ).encode()
    write(path, members)
