"""The ``signature`` and ``inclusion`` checks: who signed the clip entry, who certified
that key, and where both entries stand in the station's log, all against the trust file.

``signature``  the station-key entry is certified by the trust file's merchant root, for
               a log the trust file lists with that key (not revoked before the clip's
               log index); the clip entry is signed by that key, for that station
``inclusion``  both entries are leaves under a checkpoint signed by a key the trust file
               lists for the station's log (C2SP tlog-proof), the station key certified
               before the clip; a revoked key signs no checkpoint past its revocation
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import FormatError, ProofError, SignatureError, TrustFile, VerificationError
from storage.checkpoint import Checkpoint, SignedCheckpoint, TlogProof
from storage.entries import Clip, StationKey
from storage.note import parse
from verifier._layout import CLIP_ENTRY, CLIP_PROOF, KEY_ENTRY, KEY_PROOF
from verifier._report import Check, failed
from verifier._zip import Problem


@dataclass(frozen=True, slots=True)
class Inclusion:
    """The ``inclusion`` check, and when it passed, the checkpoint and both proofs."""

    check: Check
    checkpoint: SignedCheckpoint | None = None
    clip_proof: TlogProof | None = None
    key_proof: TlogProof | None = None


def check_signature(
    trust: TrustFile,
    members: dict[str, bytes],
    station: StationKey | None,
    station_error: str,
    clip: Clip | None,
    clip_error: str,
) -> Check:
    """The ``signature`` check; ``*_error`` says why an entry is ``None``."""
    if station is None:
        return Check("signature", False, station_error)
    root = trust.root_verifier()
    try:
        station.verify_certification(root)
    except VerificationError as e:
        return Check("signature", False, e.message, root.vkey, station.root)
    listed = [g for g in trust.logs if g.origin == station.origin]
    if not listed:
        origins = ", ".join(g.origin for g in trust.logs) or "none"
        return Check(
            "signature",
            False,
            f"the station key is for log {station.origin}, which the trust file does not "
            f"list (it lists: {origins})",
            origins,
            station.origin,
        )
    if station.vkey not in {g.vkey for g in listed}:
        return Check(
            "signature",
            False,
            f"the trust file lists another key for log {station.origin} than the "
            "certification names",
            listed[0].vkey,
            station.vkey,
        )
    key = next(g for g in listed if g.vkey == station.vkey)
    index = _claimed_index(members)
    if index is not None and not key.signs_entry(index):
        return Check(
            "signature",
            False,
            f"the clip (log index {index}) is signed by station key {station.vkey}, which "
            f"the trust file marks {key.revoked_reason or 'revoked'} after index "
            f"{key.revoked_after}: its signatures after that point do not count",
            f"a signature at index {key.revoked_after} or before, or by the key that replaced it",
            f"index {index}",
        )
    if clip is None:
        return Check("signature", False, clip_error)
    try:
        clip.verify_signature(station.station_verifier())
    except VerificationError as e:
        expected = f"{station.origin}+{station.station_verifier().key_id:08x}"
        if clip.key != expected:
            return Check("signature", False, e.message, expected, clip.key)
        return Check(
            "signature",
            False,
            f"{e.message}: the entry was changed after it was signed, or signed by another key",
            f"a valid signature by {expected}",
            "an invalid signature",
        )
    if clip.station != station.station:
        return Check(
            "signature",
            False,
            f"the clip names station {clip.station!r}, the certified key is station "
            f"{station.station!r}'s",
            station.station,
            clip.station,
        )
    return Check(
        "signature",
        True,
        f"clip signed by station {station.station}'s key {clip.key}, certified by the "
        f"trusted merchant root {station.root_verifier().name}+"
        f"{station.root_verifier().key_id:08x} ({trust.merchant})",
    )


def check_inclusion(
    trust: TrustFile, members: dict[str, bytes], station: StationKey | None
) -> Inclusion:
    """The ``inclusion`` check, and on success what it proved."""
    proofs: list[tuple[str, str, str, TlogProof, bytes]] = []
    problems: list[Problem] = []
    for label, proof_name, entry_name in (
        ("clip", CLIP_PROOF, CLIP_ENTRY),
        ("station-key", KEY_PROOF, KEY_ENTRY),
    ):
        raw, entry = members.get(proof_name), members.get(entry_name)
        if raw is None or entry is None:
            problems.append(Problem(f"{label}: {proof_name} or {entry_name} is missing"))
            continue
        try:
            proofs.append((label, proof_name, entry_name, TlogProof.from_bytes(raw), entry))
        except FormatError as e:
            problems.append(Problem(f"{proof_name} is not a C2SP tlog-proof: {e.message}"))
    if problems:
        return Inclusion(failed("inclusion", problems))
    want_origin = None if station is None else station.origin
    opened: dict[str, tuple[TlogProof, SignedCheckpoint]] = {}
    for label, proof_name, entry_name, proof, entry in proofs:
        size = _checkpoint_size(proof.checkpoint)
        # A revoked key's signature on a checkpoint past its revocation point does
        # not count: it could sign a forked history after it was stolen.
        verifiers = [g.verifier() for g in trust.logs if g.signs_checkpoint(size)]
        retired = [
            g for g in trust.logs if not g.signs_checkpoint(size) and g.origin == want_origin
        ]
        try:
            signed = proof.verify(entry, verifiers)
        except SignatureError as e:
            why = "".join(
                f" (key {g.vkey.split('+')[1]} was {g.revoked_reason or 'revoked'} after "
                f"index {g.revoked_after}: it cannot sign a checkpoint of size {size})"
                for g in retired[:1]
            )
            problems.append(
                Problem(
                    f"{proof_name}: {e.message}{why}",
                    "a checkpoint signed by the key the trust file lists for its log",
                    "no such signature",
                )
            )
            continue
        except ProofError as e:
            problems.append(
                Problem(
                    f"{proof_name}: {e.message}",
                    f"{entry_name} as leaf {proof.index} under the checkpoint's root",
                    "another root: the entry, the index or the proof hashes were changed",
                )
            )
            continue
        except FormatError as e:
            problems.append(Problem(f"{proof_name}: {e.message}", "a C2SP checkpoint note"))
            continue
        origin = signed.checkpoint.origin
        if want_origin is not None and origin != want_origin:
            problems.append(
                Problem(
                    f"{proof_name}: the checkpoint is of log {origin}, but the clip's station "
                    f"key signs log {want_origin}",
                    want_origin,
                    origin,
                )
            )
            continue
        opened[label] = (proof, signed)
    if problems:
        return Inclusion(failed("inclusion", problems))
    clip_proof, clip_cp = opened["clip"]
    key_proof, key_cp = opened["station-key"]
    if key_proof.index >= clip_proof.index:
        return Inclusion(
            Check(
                "inclusion",
                False,
                f"the station key was certified at index {key_proof.index}, not before the clip "
                f"at index {clip_proof.index}",
                f"an index below {clip_proof.index}",
                str(key_proof.index),
            )
        )
    cp = clip_cp.checkpoint
    same = clip_cp.raw == key_cp.raw
    where = (
        f"the same checkpoint of size {cp.size}"
        if same
        else f"checkpoints of size {cp.size} and {key_cp.checkpoint.size}"
    )
    check = Check(
        "inclusion",
        True,
        f"clip entry (index {clip_proof.index}) and station key (index {key_proof.index}) "
        f"lead to {where} of log {cp.origin}, signed by the trusted log key",
    )
    return Inclusion(check, clip_cp, clip_proof, key_proof)


def _claimed_index(members: dict[str, bytes]) -> int | None:
    raw = members.get(CLIP_PROOF)
    if raw is None:
        return None
    try:
        return TlogProof.from_bytes(raw).index
    except FormatError:
        return None


def _checkpoint_size(raw: bytes) -> int:
    try:
        text, _ = parse(raw)
        return Checkpoint.from_text(text).size
    except FormatError:
        return 0  # the proof check reports the format error itself
