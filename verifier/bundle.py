"""Evidence bundles: one zip that lets a stranger check an order's clip offline.

Format ``packseal-bundle/v1``, a zip with exactly these members::

    README.txt                 what the bundle proves and does not; how to verify it; the
                               byte offset, length and signed SHA-256 of the init section
                               and of every segment, to check with tail/head and sha256sum
    manifest.json              format id, clip/order ids, log position, which segments the
                               video holds (an excerpt: a contiguous run), the derived-copy
                               facts, the display zone, every member's size and SHA-256
    entries/clip.json          the clip entry, exactly as logged (canonical JSON)
    entries/clip.proof         its C2SP tlog-proof against a signed checkpoint
    entries/station-key.json   the entry in which the merchant root certified the station key
    entries/station-key.proof  its tlog-proof (against the same checkpoint)
    clip.mp4                   the init section + the clip's segments, byte for byte as
                               sealed (an excerpt: the whole segments covering START-END)
                               but for the decode times that put it on its own timeline:
                               each fragment's tfdt less the clip's start in the run, the
                               leading empty edit 0 (manifest video.timeline says by how
                               much; verify puts them back before hashing; verifier.timeline)
      or derived.mp4           a re-encoded copy under an upload limit (--max-size), when
                               the sealed clip does not fit; it cannot match the seal
    clip.<view>.mp4            a clip filmed by several cameras: each further view's init
                               section and segments, as clip.mp4 is the primary view's
                               (its own decode-time shift, manifest views[].timeline); an
                               excerpt holds the view's segments overlapping the primary's
    sheet.png, sheet.pdf       the evidence sheet (one page, for people)
    SHA256SUMS                 every other member's SHA-256, in ``sha256sum -c`` format

and, when the station anchors its log and holds C2PA credentials (each optional; a trust
file that requires one makes a bundle without it fail):

    entries/checkpoint.tsq     the RFC 3161 request over the checkpoint's body (its nonce)
    entries/checkpoint.tsr     the TSA's response: the checkpoint existed before genTime
    clip.c2pa.mp4              clip.mp4 with C2PA Content Credentials (one manifest box
                               inserted after ftyp; see :mod:`verifier.c2pa`)

and, when the merchant adds a claim check's report (``claim``; a report for people, not
evidence by itself: :mod:`verifier._claim_section` says what verify checks of it):

    claim/claim.json           the report (packseal-claim/v1): labels, the packing frames
                               compared with (segment and its signed hash), regions
    claim/claim.png, .pdf      its one page
    claim/claim-N.png          the annotated strip of each photo the report names

The buyer's photos themselves are not carried: the reviewer has them from the buyer,
claim.json names each one's SHA-256 and size to match them, and they are personal data
the merchant keeps only for a while (claims.keep_photos_days).

Witness cosignatures travel inside the proofs: the checkpoint in each tlog-proof is the
log's signed note with the witnesses' cosignature lines appended (tlog-proof allows it).

The video is stored (not deflated: MP4 does not compress), so a verifier reads it in place.
Only the entries, proofs and the trust file are evidence; the manifest, README and sheet
are conveniences, and the verifier compares what it uses of them with the signed entry.
The merchant's trust file is never put in a bundle: a verifier takes it from the merchant.

Exporting needs OpenCV and ffmpeg (the sheet's keyframes, a derived copy), imported only
when a bundle is made; reading a bundle (:mod:`verifier.verify`) needs neither.

:func:`export_bundle` composes the parts: the sealed clip's copy (:mod:`verifier._assemble`),
the further views and a derived copy (:mod:`verifier._videos`), the summary and the
sheet's facts (:mod:`verifier._summary`), the README (:mod:`verifier._readme`) and the zip
(:mod:`verifier._pack`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage import LogStateError, Store, merkle
from storage.certs import C2paCredentials
from storage.entries import Clip, StationKey, parse_as
from storage.zones import zone_name, zone_of
from verifier._assemble import assemble
from verifier._claim_section import section_from_report
from verifier._errors import VerifierError
from verifier._layout import (
    C2PA_CLIP,
    CLAIM_JSON,
    CLIP,
    CLIP_ENTRY,
    CLIP_PROOF,
    DERIVED,
    FORMAT,
    KEY_ENTRY,
    KEY_PROOF,
    MANIFEST,
    OPTIONAL,
    README,
    REQUIRED,
    SHEET_PDF,
    SHEET_PNG,
    STAMP_REQUEST,
    STAMP_RESPONSE,
    SUMS,
)
from verifier._manifest import Derived, Manifest, Member
from verifier._pack import sha256_file, workdir, write_zip, zip_time
from verifier._readme import anchor_notes, claim_notes, readme
from verifier._summary import BundleSummary, sheet_of
from verifier._videos import derive, ms, no_copy_of_views, segment_span, view_video
from verifier.timeline import Timeline

if TYPE_CHECKING:  # the sheet imports OpenCV: only when a bundle is made
    from collections.abc import Callable

    from verifier._summary import SheetMaker as SheetMaker

    # (step, done, total): what export is doing, and how far it is in that step's units
    ExportProgress = Callable[[str, int, int], None]

__all__ = [
    "C2PA_CLIP",
    "CLIP",
    "DERIVED",
    "FORMAT",
    "MANIFEST",
    "OPTIONAL",
    "REQUIRED",
    "SUMS",
    "BundleSummary",
    "ExportPolicy",
    "ExportResult",
    "export_bundle",
]


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    size: int
    clip_id: str
    order_id: str
    derived: bool
    excerpt: bool
    summary: BundleSummary
    stamped: bool = False  # carries an RFC 3161 time-stamp of its checkpoint
    cosignatures: int = 0  # witness cosignatures on its checkpoint
    c2pa: bool = False  # carries clip.c2pa.mp4
    # Every view's video member, the primary's first: ((view, member), ...); the primary
    # of a one-camera station's clip is named "".
    views: tuple[tuple[str, str], ...] = ()
    claim_photos: int | None = None  # carries a claim report (claim/) of this many photos


@dataclass(frozen=True, slots=True)
class ExportPolicy:
    """What a bundle must carry to meet the trust file its station publishes.

    ``witnesses`` names the witnesses whose cosignatures count, ``quorum`` how many of
    them the checkpoint needs, ``stamped`` asks for an RFC 3161 time-stamp, ``c2pa`` the
    credentials for the Content Credentials copy. The default asks for nothing extra.
    ``verify_url`` is where the merchant publishes the verify page: the README and sheet
    tell reviewers about it beside ``pip install packseal``. ``language`` is the evidence
    sheet's (``en`` or ``zh-CN``; verifier/_sheet_text.py).
    """

    c2pa: C2paCredentials | None = None
    witnesses: tuple[str, ...] = ()
    quorum: int = 0
    stamped: bool = False
    verify_url: str | None = None
    language: str = "en"

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(
                f"quorum must be between 0 and {len(self.witnesses)} (the witnesses named), "
                f"got {self.quorum}"
            )


def export_bundle(
    store: Store,
    certification: tuple[int, StationKey],
    clip_id_or_order: str,
    out: Path,
    *,
    policy: ExportPolicy = ExportPolicy(),
    excerpt: tuple[float, float] | None = None,
    max_bytes: int | None = None,
    zone: dt.tzinfo | None = None,
    make_sheet: SheetMaker | None = None,
    progress: ExportProgress | None = None,
    claim: Path | None = None,
) -> ExportResult:
    """Write the bundle of a clip (by id, else the order's newest clip) to ``out``.

    ``certification`` is the station-key entry's index and value that certifies the key
    that signed the clip (``App.certification(clip)``). A signed checkpoint must cover the
    clip: the verifier never signs (``App.export`` signs one first when needed).
    ``excerpt`` is (START, END) in seconds from the clip's start: the bundle then holds the
    whole segments that cover it. With ``max_bytes``, a clip larger than that is carried
    as a re-encoded ``derived.mp4`` instead (see the module docstring). ``zone`` is the
    zone the sheet shows local times in (default: the zone the clip entry says the station's
    clock showed, else UTC); ``make_sheet`` replaces
    :func:`verifier.sheet.make_sheet` (tests that export hundreds of bundles: a sheet costs
    ~2 s of PNG encoding). The file appears atomically. ``progress(step, done, total)``
    is told each step (copying the segments, the sheet, a derived copy's frames, C2PA,
    the zip) for a long clip's export on a terminal.

    Anchoring (``policy``): with a quorum of witnesses or a time-stamp asked for, the bundle
    uses the smallest stored checkpoint covering the clip that has them (the tightest time
    bound), else the latest one; ``ExportResult`` says what it got. With C2PA credentials
    the sealed clip is also carried as ``clip.c2pa.mp4`` with Content Credentials (not for
    a derived copy).

    A clip filmed by several cameras carries each further view as ``clip.<view>.mp4``
    (its segments overlapping the primary's, for an excerpt); it cannot be carried as a
    derived copy (``VerifierError``).

    ``claim`` is a claim check's report directory of this clip: the bundle then carries
    its claim section (``claim/``), counted in ``max_bytes`` like the sheet.
    """
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: the directory {out.parent} does not exist")
    if max_bytes is not None and max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    key_index, station = certification
    row = store.find_clip(clip_id_or_order)
    clip_bytes = store.entry(row.idx)
    clip = parse_as(Clip, clip_bytes)
    zone = zone or zone_of(clip.zone) or dt.UTC
    # A bundle that cannot verify is worse than none: catch a mismatched key here.
    clip.verify_signature(station.station_verifier())
    if station.origin != store.origin:
        raise LogStateError(
            f"the certification is for log {station.origin}, the clip is in {store.origin}"
        )
    checkpoint = store.latest_checkpoint()
    if checkpoint is None or checkpoint.size <= row.idx:
        raise LogStateError(
            f"clip {clip.clip_id} (entry {row.idx}) is not covered by a signed checkpoint",
            hint="export through the station (`packseal export`), which signs one with the "
            "station's key (the station signs one whenever it seals a clip, so this means "
            "it stopped in between)",
        )
    anchors = store.anchors
    if policy.quorum > 0 or policy.stamped:
        best = anchors.best_checkpoint(
            row.idx, witnesses=policy.witnesses, quorum=policy.quorum, stamped=policy.stamped
        )
        checkpoint = best or checkpoint
    # The proofs carry the checkpoint with the witnesses' cosignature lines appended.
    cosigned = anchors.cosigned_note(checkpoint)
    clip_proof = dataclasses.replace(
        store.tlog_proof(row.idx, checkpoint.size), checkpoint=cosigned
    ).to_bytes()
    key_proof = dataclasses.replace(
        store.tlog_proof(key_index, checkpoint.size), checkpoint=cosigned
    ).to_bytes()
    stamps = anchors.stamps(checkpoint.size)
    cosignature_count = len(anchors.cosignatures(checkpoint.size))
    first, last = segment_span(clip, excerpt)
    step = progress or (lambda what, done, total: None)
    section = {} if claim is None else section_from_report(claim, clip)

    with workdir(out) as work:
        # The sheet and a derived copy read the sealed bytes; the bundle carries them on
        # the clip's own timeline (verifier.timeline), so players show 0 to its length.
        sealed_path, clip_path = work / "sealed.mp4", work / CLIP
        made = assemble(
            store,
            clip,
            first,
            last,
            sealed_path,
            clip_path,
            lambda done, total: step("copying the sealed clip", done, total),
        )
        parts, sealed_sha = made.parts, made.sealed_sha256
        sealed_size = sealed_path.stat().st_size
        views = [
            view_video(store, clip, part, first, last, work, step) for part in clip.all_views()[1:]
        ]
        copy = None

        def deriving(done: int, total: int) -> None:
            step("re-encoding a copy to fit the limit", done, total)

        if max_bytes is not None and sealed_size > max_bytes:
            no_copy_of_views(clip, sealed_size, max_bytes)
            copy = derive(sealed_path, work, max_bytes, overhead=0, progress=deriving)
        # ``max_bytes`` bounds the whole zip: when the sealed clip fits alone but not with
        # the sheet, entries, README (and a C2PA copy), pack again with a derived copy
        # sized to what the first packing showed the rest takes.
        for attempt in range(3):
            video, video_path, video_sha, derived = CLIP, clip_path, made.video_sha256, None
            timeline: Timeline | None = made.timeline
            if copy is not None:
                assert max_bytes is not None  # a copy is made only under a limit
                derived = Derived(copy.sha256, copy.size, copy.width, copy.height, max_bytes)
                video, video_path, video_sha = DERIVED, Path(copy.path), copy.sha256
                timeline = None
            refs = clip.segments[first : last + 1]
            summary = BundleSummary(
                order_id=clip.order_id,
                tracking_ids=clip.tracking_ids,
                clip_id=clip.clip_id,
                station=clip.station,
                origin=station.origin,
                log_index=row.idx,
                checkpoint_size=checkpoint.size,
                checkpoint_root=base64.b64encode(checkpoint.root_hash).decode(),
                video=video,
                video_sha256=video_sha,
                sealed_sha256=sealed_sha,
                entry_hash=merkle.leaf_hash(clip_bytes).hex(),
                start_ms=refs[0].start,
                end_ms=refs[-1].end,
                segments=(first + 1, last + 1, len(clip.segments)),
                views=tuple((v.manifest.view, v.manifest.member, v.sha256) for v in views),
            )
            step("drawing the evidence sheet", 0, 1)
            shown = () if derived is not None else tuple((v.manifest.view, v.sealed) for v in views)
            sheet = sheet_of(
                summary,
                clip,
                station,
                zone,
                sealed_path,
                make_sheet,
                policy.verify_url,
                policy.language,
                shown,
            )
            small = {
                CLIP_ENTRY: clip_bytes,
                CLIP_PROOF: clip_proof,
                KEY_ENTRY: store.entry(key_index),
                KEY_PROOF: key_proof,
                SHEET_PNG: sheet[0],
                SHEET_PDF: sheet[1],
                **section,
            }
            manifest = Manifest(
                clip_id=clip.clip_id,
                order_id=clip.order_id,
                origin=station.origin,
                clip_index=row.idx,
                station_key_index=key_index,
                checkpoint_size=checkpoint.size,
                video=video,
                first=first,
                last=last,
                segment_count=len(clip.segments),
                sealed_sha256=sealed_sha,
                sealed_size=sealed_size,
                excerpt_ms=None if excerpt is None else (ms(excerpt[0]), ms(excerpt[1])),
                derived=derived,
                timeline=timeline,
                zone=zone_name(zone, clip.started),
                members={},
                views=tuple(v.manifest for v in views),
            )
            if stamps:  # the earliest genTime is the tightest bound
                small[STAMP_REQUEST] = stamps[0].request
                small[STAMP_RESPONSE] = stamps[0].response
            files = {video: (video_path, video_sha)}
            if derived is None:
                files.update({v.manifest.member: (v.path, v.sha256) for v in views})
            if policy.c2pa is not None and derived is None:
                from verifier.c2pa import ClipClaim, sign_clip

                c2pa_claim = ClipClaim(
                    clip.clip_id,
                    clip.order_id,
                    summary.entry_hash,
                    station.origin,
                    row.idx,
                    checkpoint.size,
                    summary.checkpoint_root,
                )
                signed_path = work / C2PA_CLIP
                step("signing Content Credentials (C2PA)", 0, 1)
                sign_clip(clip_path, signed_path, policy.c2pa, c2pa_claim, station=clip.station)
                files[C2PA_CLIP] = (signed_path, sha256_file(signed_path))
            small[README] = readme(
                manifest,
                clip,
                station,
                parts,
                video,
                anchor_notes(stamps, cosigned, files),
                verify_url=policy.verify_url,
                views=[(v.manifest, v.parts) for v in views],
                claim=claim_notes(section),
            ).encode()
            members = {n: Member(len(b), hashlib.sha256(b).hexdigest()) for n, b in small.items()}
            for name, (path, sha) in files.items():
                members[name] = Member(path.stat().st_size, sha)
            small[MANIFEST] = dataclasses.replace(manifest, members=members).to_bytes()
            tmp = work / "bundle.zip"
            step("writing the zip", 0, 1)
            write_zip(tmp, small, files, zip_time(refs[0].start))
            size = tmp.stat().st_size
            if max_bytes is None or size <= max_bytes:
                break
            no_copy_of_views(clip, size, max_bytes)
            overhead = size - sum(path.stat().st_size for path, _ in files.values())
            if attempt == 2 or (copy is not None and copy.size <= max_bytes - overhead):
                claimed = (
                    f" (the claim report {sum(map(len, section.values()))})" if section else ""
                )
                raise VerifierError(
                    f"the bundle is {size} bytes, over the {max_bytes}-byte limit: its sheet, "
                    f"entries and README take {overhead} bytes{claimed if section else ''}",
                    hint="ask for a larger --max-size, or export an --excerpt"
                    + (", or leave the claim report out" if section else ""),
                )
            copy = derive(
                sealed_path,
                work,
                max_bytes,
                overhead=overhead,
                progress=deriving,
                rest="sheet, entries, README and claim report"
                if section
                else "sheet, entries and README",
            )
        os.replace(tmp, out)
        step("writing the zip", 1, 1)
    return ExportResult(
        path=out,
        size=out.stat().st_size,
        clip_id=clip.clip_id,
        order_id=clip.order_id,
        derived=derived is not None,
        excerpt=manifest.is_excerpt,
        summary=summary,
        stamped=bool(stamps),
        cosignatures=cosignature_count,
        c2pa=C2PA_CLIP in files,
        views=((clip.view or "", video), *((v.manifest.view, v.manifest.member) for v in views)),
        claim_photos=None if not section else len(json.loads(section[CLAIM_JSON])["photos"]),
    )
