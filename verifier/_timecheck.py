"""The ``time`` and ``witness`` checks: what anchors the bundle's checkpoint outside the
merchant, and the honest time bounds that follow.

``time``     the RFC 3161 response in ``entries/checkpoint.tsr`` answers the request in
             ``entries/checkpoint.tsq`` (imprint, nonce), is signed by a TSA chaining to
             a ``tsa_roots`` certificate of the trust file, valid at genTime, and is over
             the body of the checkpoint both proofs lead to. It proves the clip existed
             before genTime: an *upper* bound. Every time the signed entry states (each
             segment's start and end, each scan, the order scan and the close, and the
             time it was sealed) must be at or before genTime, within
             :data:`CLOCK_SKEW_MS`: footage dated after its own time-stamp (a file with
             a chosen epoch, a station clock set ahead) cannot be true, and fails. With or
             without a time-stamp, the footage and scan times must also be at or before
             the time the station sealed the entry (within :data:`SEAL_SKEW_MS`): footage
             cannot be sealed before it was recorded.
``witness``  at least ``witness_quorum`` distinct witnesses of the trust file cosigned
             that checkpoint (c2sp.org/tlog-cosignature); a listed witness's cosignature
             that does not verify fails the check.

Both pass with "not required" when the trust file asks for nothing; a token or
cosignature the trust file cannot check is reported, never relied on.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import FormatError, SignatureError, TrustFile
from storage.checkpoint import SignedCheckpoint
from storage.cosignature import Cosigned, cosignatures
from storage.entries import Clip
from storage.facts import rfc3339
from storage.text import printable
from storage.timestamp import Stamp, TimestampError, check_response, load_roots
from verifier._layout import STAMP_REQUEST, STAMP_RESPONSE
from verifier._report import Check

# A station clock may run this far ahead of the TSA's before its times are refused:
# NTP-synced clocks agree within a second; this leaves room for a TSA's stated accuracy.
CLOCK_SKEW_MS = 5 * 60_000
# Footage, scans and the seal are read from the same station clock, footage first: a
# later footage time means the times were made up (or the clock stepped back by more).
SEAL_SKEW_MS = 60_000


def footage_times(clip: Clip) -> list[tuple[str, int]]:
    """Every time the signed clip entry states about its footage, labelled for a person."""
    out = [("the order scan", clip.started), ("the clip's close", clip.ended)]
    for n, ref in enumerate(clip.segments, 1):
        out += [(f"segment {n} start", ref.start), (f"segment {n} end", ref.end)]
    for scan in clip.scans:
        out.append((f"the {scan.kind} scan {printable(scan.text, 40)!r}", scan.t))
    return out


def _latest(clip: Clip) -> tuple[str, int]:
    return max(footage_times(clip), key=lambda lt: lt[1])


def _after_seal(clip: Clip | None) -> Check | None:
    """The failed check if the entry's footage is dated after the entry was sealed."""
    if clip is None:
        return None
    label, latest = _latest(clip)
    if latest <= clip.time + SEAL_SKEW_MS:
        return None
    return Check(
        "time",
        False,
        f"{label} is dated {rfc3339(latest)}, {(latest - clip.time) / 1000:.0f} s after the "
        f"station sealed the entry ({rfc3339(clip.time)}): footage cannot be sealed before it "
        "was recorded, so these times are not true (a source with a chosen epoch, or a "
        "clock that jumped)",
        f"footage times at or before {rfc3339(clip.time + SEAL_SKEW_MS)}",
        rfc3339(latest),
    )


@dataclass(frozen=True, slots=True)
class TimeResult:
    check: Check
    stamp: Stamp | None = None


def check_time(
    trust: TrustFile,
    members: dict[str, bytes],
    checkpoint: SignedCheckpoint | None,
    clip: Clip | None,
) -> TimeResult:
    """The ``time`` check. ``clip`` is the bundle's clip entry as parsed (its signature is
    the ``signature`` check's business: a forged time fails that one too)."""
    request, response = members.get(STAMP_REQUEST), members.get(STAMP_RESPONSE)
    required = bool(trust.tsa_roots)
    after_seal = _after_seal(clip)
    if after_seal is not None:
        return TimeResult(after_seal)
    station_time_ms = None if clip is None else clip.time
    if request is None and response is None:
        if required:
            return TimeResult(
                Check(
                    "time",
                    False,
                    "the trust file requires an RFC 3161 time-stamp of the checkpoint; the "
                    f"bundle has none ({STAMP_RESPONSE})",
                    "a time-stamp by a TSA the trust file lists",
                    "none",
                )
            )
        return TimeResult(Check("time", True, "no trusted time-stamp required by the trust file"))
    if request is None or response is None:
        missing = STAMP_REQUEST if request is None else STAMP_RESPONSE
        return TimeResult(
            Check("time", False, f"the time-stamp is incomplete: {missing} is missing")
        )
    if not required:
        return TimeResult(
            Check(
                "time",
                True,
                "the bundle carries an RFC 3161 time-stamp, but the trust file lists no TSA "
                "root to check it with: it was not relied on",
            )
        )
    if checkpoint is None:
        return TimeResult(Check("time", None, "not checked: no verified checkpoint to stamp"))
    text = checkpoint.note.text
    try:
        stamp = check_response(text, request, response, load_roots(trust.tsa_roots))
    except (TimestampError, FormatError) as e:
        return TimeResult(
            Check(
                "time",
                False,
                f"{STAMP_RESPONSE}: {e.message}",
                "a time-stamp of this checkpoint by a TSA the trust file lists",
                "one that does not verify",
            )
        )
    bound = f"existed before {rfc3339(stamp.gen_ms)} per {stamp.tsa}"
    if clip is not None:
        label, latest = _latest(clip)
        if latest > stamp.gen_ms + CLOCK_SKEW_MS:
            return TimeResult(
                Check(
                    "time",
                    False,
                    f"{label} is dated {rfc3339(latest)}, after the TSA's genTime "
                    f"{rfc3339(stamp.gen_ms)} of the checkpoint that logs it: footage dated "
                    "after its own time-stamp cannot be true (a source with a chosen epoch, "
                    "or a station clock set ahead)",
                    f"footage times at or before {rfc3339(stamp.gen_ms + CLOCK_SKEW_MS)} "
                    f"(genTime + {CLOCK_SKEW_MS // 60_000} min)",
                    rfc3339(latest),
                ),
                stamp,
            )
    if station_time_ms is not None and station_time_ms > stamp.gen_ms + CLOCK_SKEW_MS:
        return TimeResult(
            Check(
                "time",
                False,
                f"the station clock says the clip was sealed at {rfc3339(station_time_ms)}, after "
                f"the TSA's genTime {rfc3339(stamp.gen_ms)}: the station's times cannot be true",
                f"at or before {rfc3339(stamp.gen_ms)}",
                rfc3339(station_time_ms),
            ),
            stamp,
        )
    clock = (
        ""
        if clip is None
        else f"; its footage ({rfc3339(clip.start_ms)} to {rfc3339(_latest(clip)[1])}) and its "
        f"sealing ({rfc3339(clip.time)}) by the station clock are before it"
    )
    return TimeResult(
        Check(
            "time",
            True,
            f"this clip {bound} (RFC 3161 time-stamp of checkpoint size "
            f"{checkpoint.checkpoint.size}){clock}",
        ),
        stamp,
    )


@dataclass(frozen=True, slots=True)
class WitnessResult:
    check: Check
    cosigned: tuple[Cosigned, ...] = ()


def check_witnesses(trust: TrustFile, checkpoint: SignedCheckpoint | None) -> WitnessResult:
    k, n = trust.witness_quorum, len(trust.witnesses)
    if checkpoint is None:
        if k == 0:
            return WitnessResult(Check("witness", True, "no witness cosignature required"))
        return WitnessResult(Check("witness", None, "not checked: no verified checkpoint"))
    if n == 0:
        return WitnessResult(
            Check("witness", True, "no witness cosignature required by the trust file")
        )
    try:
        found = cosignatures(checkpoint.raw, trust.witness_verifiers())
    except (SignatureError, FormatError) as e:
        return WitnessResult(
            Check(
                "witness",
                False,
                f"{e.message}",
                "valid cosignatures by the trust file's witnesses",
                "an altered or forged cosignature",
            )
        )
    names = ", ".join(f"{c.name} at {rfc3339(c.time * 1000)}" for c in found) or "none"
    distinct = len({c.name for c in found})  # two keys of one witness are one witness
    if distinct < k:
        return WitnessResult(
            Check(
                "witness",
                False,
                f"the checkpoint has valid cosignatures by {distinct} witness(es) ({names}); "
                f"the trust file requires {k} of its {n} witnesses",
                f"{k} of {n}",
                str(distinct),
            ),
            tuple(found),
        )
    if k == 0:
        return WitnessResult(
            Check("witness", True, f"no cosignature required; cosigned by: {names}"),
            tuple(found),
        )
    return WitnessResult(
        Check(
            "witness",
            True,
            f"checkpoint size {checkpoint.checkpoint.size} cosigned by {distinct} of {n} "
            f"witnesses ({k} required): {names}; each saw no conflicting history of the log",
        ),
        tuple(found),
    )
