"""Verify a bundle offline against the merchant's trust file: named checks, in order.

::

    zip        safe to read: names, links, duplicates, sizes, ratios, overlaps; exactly the
               format's members; their hashes match SHA256SUMS and the manifest
    media      the init section and every fragment hash to the clip entry, in order, with
               nothing missing, extra, repeated or appended (an excerpt: a contiguous run)
    timeline   the segments' capture times are contiguous (a gap is named with its span)
    signature  the clip entry is signed by the station key that the station-key entry
               certifies, the certification by the trust file's root, for a log the trust
               file lists with that key
    source     where the footage came from, as the signed entry names it (a camera, an
               RTSP stream, an imported file with its hash, the demo); fails when the
               trust file requires a live source and this is not one
    inclusion  both entries are leaves under a checkpoint signed by the trust file's key
               for the station's log (C2SP tlog-proof)
    time       the RFC 3161 time-stamp of that checkpoint, when the trust file lists TSA
               roots: the clip existed before genTime (see :mod:`verifier._timecheck`)
    witness    k of the trust file's n witnesses cosigned that checkpoint
    c2pa       when the trust file lists a C2PA CA: clip.c2pa.mp4 is ``Trusted`` under it,
               its packseal assertion is this entry and checkpoint, and it is the sealed
               clip plus one manifest box, byte for byte (see :mod:`verifier.c2pa`)
    facts      what the signed entry says (order, tracking ids, times, station, clip), and
               that the bundle's unsigned labels agree with it
    claim      the claim report, when the merchant included one (claim/): of this clip,
               citing only frames of segments of its signed entry; a report, not evidence
               by itself (see :mod:`verifier._claim_section`)

A station key the trust file marks revoked (``revoked_after``) signs nothing after that
log index: not a clip entry, not a larger checkpoint.

The checks live beside this module: ``signature`` and ``inclusion`` in
:mod:`verifier._logcheck`, ``media`` in :mod:`verifier._media`, ``time`` and ``witness``
in :mod:`verifier._timecheck`, ``facts`` in :mod:`verifier._factcheck`; this module
reads the bundle and runs them in order.

Trust comes only from the :class:`~storage.TrustFile` argument; nothing in the bundle
can add a key. Every check runs even when an earlier one failed (a check that lacks its
input says so), so a report names every problem at once. Verifying reads the video once,
in place, hashing each fragment as it passes: no OpenCV, no ffmpeg, no numpy.

Outcomes: :func:`verify_bundle` returns :class:`Verified`, raises :class:`NotVerified`
(``report`` says which checks failed; a derived copy is "not the sealed bytes", never
"forged"), or :class:`BundleError` when the input is not a readable bundle at all.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from storage import FormatError, TrustFile, merkle
from storage.checkpoint import SignedCheckpoint, TlogProof
from storage.entries import Clip, SegmentRef, StationKey, parse_as
from storage.facts import GAP_TOLERANCE_MS, rfc3339
from storage.footage import describe_source
from verifier._claim_section import check_claim_section
from verifier._errors import BundleError, MediaFormatError, NotVerified
from verifier._factcheck import anchored, check_facts
from verifier._layout import (
    C2PA_CLIP,
    CAPS,
    CLIP,
    CLIP_ENTRY,
    KEY_ENTRY,
    MANIFEST,
    caps_for,
)
from verifier._logcheck import check_inclusion, check_signature
from verifier._manifest import Manifest
from verifier._media import Span, check_media
from verifier._members import read_members
from verifier._report import CHECKS, Check, Facts, Report, Verified, failed, secs
from verifier._timecheck import check_time, check_witnesses
from verifier._zip import BundleZip, MemberError, Problem, find

__all__ = ["CHECKS", "Check", "Facts", "Report", "Verified", "verify_bundle"]

_SMALL_CAP = 64 << 10  # a member the format does not name: it only needs reading to be refused


def verify_bundle(path: Path, trust: TrustFile) -> Verified:
    """Check a bundle against ``trust``; raise :class:`NotVerified` unless every check passes.

    Raises :class:`BundleError` if ``path`` is not a readable packseal bundle at all.
    """
    report = _Verifier(path, trust).run()
    if not report.verified or report.facts is None:
        raise NotVerified(
            report.verdict(),
            report=report,
            hint="each failed check says what was expected and what was found"
            if report.failed
            else "ask the merchant for the bundle of the sealed clip (exported without --max-size)",
        )
    return Verified(report, report.facts)


# -- the checks ------------------------------------------------------------------------------


@dataclass
class _Verifier:
    path: Path
    trust: TrustFile
    manifest: Manifest | None = None
    members: dict[str, bytes] = field(default_factory=dict)
    clip: Clip | None = None
    clip_error: str = ""
    station: StationKey | None = None
    station_error: str = ""
    checkpoint: SignedCheckpoint | None = None
    clip_proof: TlogProof | None = None
    key_proof: TlogProof | None = None

    def run(self) -> Report:
        with BundleZip(self.path) as z:
            if find(z.infos, MANIFEST) is None:
                raise BundleError(
                    f"{self.path} is not a packseal bundle: it has no {MANIFEST} "
                    f"(members: {', '.join(z.names[:8]) or 'none'})",
                    hint="a bundle is the .zip that `packseal export` writes",
                )
            unsafe = z.scan(caps_for(z.names), _SMALL_CAP)
            if unsafe:
                checks = [failed("zip", unsafe)]
                checks += [
                    Check(n, None, "not checked: the zip is not safe to read") for n in CHECKS[1:]
                ]
                return Report(str(self.path), checks)
            contents = read_members(z)
            self.members, self.manifest = contents.members, contents.manifest
            zip_problems = contents.problems
            self._parse_entries()
            media_check, media = self._media(z)
            signature = check_signature(
                self.trust,
                self.members,
                self.station,
                self.station_error,
                self.clip,
                self.clip_error,
            )
            source = self._source()
            proven = check_inclusion(self.trust, self.members, self.station)
            self.checkpoint, self.clip_proof, self.key_proof = (
                proven.checkpoint,
                proven.clip_proof,
                proven.key_proof,
            )
            inclusion = proven.check
            time = check_time(self.trust, self.members, self.checkpoint, self.clip)
            witness = check_witnesses(self.trust, self.checkpoint)
            c2pa_check, signer = self._c2pa(z, media_check)
        checks = [
            failed("zip", zip_problems)
            if zip_problems
            else Check(
                "zip",
                True,
                f"{len(z.infos)} members, safe to read; their hashes match SHA256SUMS and the "
                "manifest",
            ),
            media_check,
            self._timeline(media),
            signature,
            source,
            inclusion,
            time.check,
            witness.check,
            c2pa_check,
        ]
        facts_check, facts = self._facts(media)
        checks.append(facts_check)
        checks.append(check_claim_section(self.members, self.clip, self.clip_error))
        if facts is not None:
            facts = anchored(facts, time, witness, signer)
        return Report(str(self.path), checks, facts)

    # -- entries -----------------------------------------------------------------------------

    def _parse_entries(self) -> None:
        data = self.members.get(CLIP_ENTRY)
        if data is None:
            self.clip_error = f"{CLIP_ENTRY} is missing"
        else:
            try:
                self.clip = parse_as(Clip, data)
            except FormatError as e:
                self.clip_error = f"{CLIP_ENTRY} is not a valid clip entry: {e}"
        data = self.members.get(KEY_ENTRY)
        if data is None:
            self.station_error = f"{KEY_ENTRY} is missing"
        else:
            try:
                self.station = parse_as(StationKey, data)
            except FormatError as e:
                self.station_error = f"{KEY_ENTRY} is not a valid station-key entry: {e}"

    # -- media -------------------------------------------------------------------------------

    def _media(self, z: BundleZip) -> tuple[Check, Span | None]:
        if self.clip is None:
            return Check("media", None, f"not checked: {self.clip_error}"), None
        return check_media(z, self.clip, self.manifest)

    # -- timeline ----------------------------------------------------------------------------

    def _timeline(self, media: Span | None) -> Check:
        clip = self.clip
        if clip is None:
            return Check("timeline", None, f"not checked: {self.clip_error}")
        first, last = (0, len(clip.segments) - 1) if media is None else (media.first, media.last)
        parts = clip.all_views()
        if len(parts) == 1:
            return _contiguous(clip.segments, first, last, "")
        spans = {} if media is None else {v.view: (v.first, v.last) for v in media.views}
        checks = [_contiguous(clip.segments, first, last, parts[0].view)]
        for part in parts[1:]:
            lo, hi = spans.get(part.view, (0, len(part.segments) - 1))
            checks.append(_contiguous(part.segments, lo, hi, part.view))
        bad = [c for c in checks if not c.ok]
        if bad:
            return Check(
                "timeline", False, "; ".join(c.message for c in bad), bad[0].expected, bad[0].found
            )
        return Check("timeline", True, "; ".join(c.message for c in checks))

    # -- source ------------------------------------------------------------------------------

    def _source(self) -> Check:
        clip = self.clip
        if clip is None:
            return Check("source", None, f"not checked: {self.clip_error}")
        said = describe_source(clip.source)
        live = clip.source is not None and clip.source.live
        if self.trust.require_live_source and not live:
            return Check(
                "source",
                False,
                f"the trust file requires live footage (a camera or an RTSP stream); this "
                f"clip's footage is from: {said}",
                "a live camera or RTSP stream",
                said,
            )
        if live:
            return Check("source", True, said)
        return Check("source", True, f"{said} (the trust file does not require live footage)")

    # -- c2pa --------------------------------------------------------------------------------

    def _c2pa(self, z: BundleZip, media: Check) -> tuple[Check, str | None]:
        from verifier.c2pa import C2paCheckError, ClipClaim, check_clip

        info = find(z.infos, C2PA_CLIP)
        roots = self.trust.c2pa_roots
        if info is None:
            if roots:
                return Check(
                    "c2pa",
                    False,
                    f"the trust file requires C2PA Content Credentials; the bundle has no "
                    f"{C2PA_CLIP}",
                    C2PA_CLIP,
                    "nothing",
                ), None
            return Check("c2pa", True, "no Content Credentials required by the trust file"), None
        if not roots:
            return Check(
                "c2pa",
                True,
                f"the bundle carries {C2PA_CLIP}, but the trust file lists no C2PA CA: it was "
                "not checked and is not evidence (clip.mp4 is)",
            ), None
        clip, cp, proof = self.clip, self.checkpoint, self.clip_proof
        if clip is None or cp is None or proof is None or media.ok is not True:
            return Check(
                "c2pa", None, "not checked: the clip, its proof or its video did not verify"
            ), None
        claim = ClipClaim(
            clip.clip_id,
            clip.order_id,
            merkle.leaf_hash(self.members[CLIP_ENTRY]).hex(),
            cp.checkpoint.origin,
            proof.index,
            cp.checkpoint.size,
            base64.b64encode(cp.checkpoint.root_hash).decode(),
        )
        video = find(z.infos, CLIP)
        if video is None:
            return Check("c2pa", None, "not checked: the bundle has no sealed clip.mp4"), None
        try:
            # The view stays the zip's to close (BundleZip.close); c2pa only reads and seeks.
            stream = z.open_video(info, CAPS[C2PA_CLIP])
            creds = check_clip(stream, "".join(roots), claim, _sealed_hash(z, video))  # type: ignore[arg-type]
        except C2paCheckError as e:
            return Check("c2pa", False, e.message, e.expected, e.found), None
        except MediaFormatError as e:
            return Check("c2pa", False, f"{C2PA_CLIP} is not an MP4: {e.message}"), None
        except MemberError as e:
            return failed("c2pa", [e.problem]), None
        return Check(
            "c2pa",
            True,
            f"{C2PA_CLIP} carries Content Credentials signed by {creds.signer} ({creds.issuer}), "
            "Trusted under the trust file's C2PA CA; its packseal assertion is this entry and "
            "checkpoint, and without its manifest box it is clip.mp4 byte for byte",
        ), f"{creds.signer} ({creds.issuer})"

    # -- facts -------------------------------------------------------------------------------

    def _facts(self, media: Span | None) -> tuple[Check, Facts | None]:
        if self.clip is None:
            return Check("facts", None, f"not checked: {self.clip_error}"), None
        return check_facts(
            self.members,
            self.manifest,
            self.clip,
            self.station,
            media,
            checkpoint=self.checkpoint,
            clip_proof=self.clip_proof,
            key_proof=self.key_proof,
        )


# -- helpers --------------------------------------------------------------------------------


def _contiguous(segments: tuple[SegmentRef, ...], first: int, last: int, view: str) -> Check:
    """The ``timeline`` check of one view's segments first..last (``view`` "": the only)."""
    refs = segments[first : last + 1]
    named = f"view {view}: " if view else ""
    problems = []
    for k, (a, b) in enumerate(itertools.pairwise(refs), start=first + 1):
        step = b.start - a.end
        if step > GAP_TOLERANCE_MS:
            problems.append(
                Problem(
                    f"gap of {secs(step)} s between segment {k} "
                    f"(ends {rfc3339(a.end, ms=True)}) "
                    f"and segment {k + 1} (starts {rfc3339(b.start, ms=True)})",
                    f"segment {k + 1} to start at {rfc3339(a.end, ms=True)}",
                    f"{rfc3339(b.start, ms=True)}",
                )
            )
        elif step < -GAP_TOLERANCE_MS:
            problems.append(
                Problem(
                    f"segments {k} and {k + 1} overlap by {secs(-step)} s",
                    f"segment {k + 1} to start at {rfc3339(a.end, ms=True)}",
                    f"{rfc3339(b.start, ms=True)}",
                )
            )
    if problems:
        problems = [dataclasses.replace(p, message=named + p.message) for p in problems]
        return failed("timeline", problems)
    start, end = refs[0].start, refs[-1].end
    return Check(
        "timeline",
        True,
        f"{named}{len(refs)} segment(s), contiguous: {rfc3339(start)} to {rfc3339(end)} "
        f"({secs(end - start)} s)",
    )


def _sealed_hash(z: BundleZip, info: object) -> str:
    import hashlib

    f = z.open_video(info, CAPS[CLIP])  # type: ignore[arg-type]
    digest = hashlib.sha256()
    f.seek(0)
    while chunk := f.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()
