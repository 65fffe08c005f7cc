"""The bundle's README.txt: what it proves and does not, how to check it by hand, and its
words on the anchors (time-stamp, witnesses, C2PA) and the claim section."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storage.anchors import StoredStamp
from storage.entries import Clip, SegmentRef, StationKey
from storage.facts import rfc3339
from storage.footage import FootageSource, describe_source
from storage.note import parse
from storage.text import printable
from verifier._layout import C2PA_CLIP, CLAIM_JSON, CLIP, STAMP_REQUEST, STAMP_RESPONSE
from verifier._manifest import FORMAT, Manifest, ViewVideo
from verifier.timeline import Field


@dataclass(frozen=True, slots=True)
class Part:
    """A byte range of the sealed video: the init section or one segment."""

    label: str
    offset: int
    length: int
    sha256: str
    ref: SegmentRef | None = None
    # Fields the bundle's video carries rebased (verifier.timeline), with their sealed
    # values: the by-hand check writes these back before hashing.
    restore: tuple[Field, ...] = ()


def readme(
    manifest: Manifest,
    clip: Clip,
    station: StationKey,
    parts: Sequence[Part],
    video: str,
    anchors: Sequence[str] = (),
    *,
    verify_url: str | None = None,
    views: Sequence[tuple[ViewVideo, Sequence[Part]]] = (),
    claim: Sequence[str] = (),
) -> str:
    """``anchors``: paragraphs on what this bundle carries beyond the log (see bundle.py);
    ``verify_url``: the merchant's published verify page, if any; ``views``: each further
    view's video and its parts (a clip filmed by several cameras); ``claim``: the
    paragraph on the claim section, if the bundle has one."""
    refs = clip.segments[manifest.first : manifest.last + 1]
    start, end = refs[0].start, refs[-1].end
    n = manifest.segment_count
    span = "the whole clip" if not manifest.is_excerpt else "an EXCERPT"
    lines = [
        f"PACKSEAL EVIDENCE BUNDLE ({FORMAT})",
        "",
        # Scanned texts are any Unicode (storage.text); the entry has them exactly.
        f"Order      {printable(clip.order_id)}",
        f"Tracking   {', '.join(map(printable, clip.tracking_ids)) or '(none scanned)'}",
        f"Clip       {printable(clip.clip_id)} ({clip.status}, ended by {clip.end_reason})",
        f"Station    {printable(station.station)} ({printable(station.station_name)}) of "
        f"{printable(station.merchant)}",
        f"Filmed by  {printable(describe_source(clip.source))}",
        *(
            [
                "Views      "
                + ", ".join(
                    [f"{clip.view} ({video})", *(f"{v.view} ({v.member})" for v, _ in views)]
                ),
                *(
                    f"           {v.view} filmed by "
                    f"{printable(describe_source(_source(clip, v.view)))}"
                    for v, _ in views
                ),
            ]
            if views
            else []
        ),
        f"Recorded   {rfc3339(start)} to {rfc3339(end)} ({(end - start) / 1000:.1f} s), "
        f"segments {manifest.first + 1}..{manifest.last + 1} of {n}: {span}",
        f"Sealed in  log {station.origin}, entry {manifest.clip_index}, under the signed "
        f"checkpoint of size {manifest.checkpoint_size}",
        "",
        "WHAT THIS BUNDLE PROVES (once `packseal verify` says VERIFIED)",
        "- The clip entry (entries/clip.json) was signed by the station's key when the clip",
        "  was sealed, and the merchant's root key certified that station key",
        "  (entries/station-key.json).",
        "- Both entries are in the merchant's append-only transparency log: each",
        "  entries/*.proof is a C2SP tlog-proof against a checkpoint signed by the log's key.",
        "  A later edit or deletion of an entry cannot produce the same checkpoint.",
        "- The order id, tracking ids, station and times above are what that signed entry",
        "  says; the video's init section and every segment hash to the values it names.",
        "",
        "WHAT IT DOES NOT PROVE",
        "- Anything at all without the merchant's trust file, obtained from the merchant",
        "  (their website, a marketplace profile), never from a bundle.",
        "- Times beyond the station's clock, unless an RFC 3161 time-stamp below bounds them",
        "  (from above: the clip existed before the TSA's time). The log shows order and",
        "  continuity; witness cosignatures, or checkpoints saved earlier, rule out a",
        "  rewritten log.",
        "- What the camera did not see. sheet.png, sheet.pdf, manifest.json and this README",
        "  are made at export and are not signed: trust what `packseal verify` prints.",
        "",
        "HOW TO VERIFY",
        "Get the verifier: `pip install packseal` (Python 3.11 or newer) gives the",
        "`packseal` command (https://pypi.org/project/packseal/).",
        *(
            [
                f"Or open {printable(verify_url)} in a browser: the same checks, run",
                "in the page on your machine (the bundle is not uploaded).",
            ]
            if verify_url
            else []
        ),
        "",
        "    packseal verify bundle.zip --trust trust.json",
        "Exit 0: verified. 1: not verified (every failed check is named, with what was",
        "expected and what was found). 2: not a readable bundle, or a bad trust file.",
        "No ffmpeg or OpenCV is needed.",
        "",
    ]
    if manifest.derived is not None:
        d = manifest.derived
        lines += [
            "THE VIDEO IS A DERIVED COPY",
            f"{video} is a re-encoded copy ({d.width}x{d.height}, {d.size} bytes, sha256",
            f"{d.sha256}) made to fit a {d.max_bytes}-byte upload limit from the sealed",
            f"clip {clip.clip_id} (sealed bytes: {manifest.sealed_size} bytes, sha256",
            f"{manifest.sealed_sha256}). Re-encoding changes every byte, so its hashes cannot",
            "match the signed entry and `packseal verify` reports it as a derived copy, not as",
            "verified footage. To verify the footage itself, ask the merchant for the bundle",
            "without --max-size.",
            "",
        ]
    else:
        lines += _by_hand(video, parts, clip.view if views else None)
        for v, view_parts in views:
            lines += _by_hand(v.member, view_parts, v.view, further=True)
    if anchors:
        lines += ["ANCHORED OUTSIDE THE MERCHANT", *anchors, ""]
    if claim:
        lines += [*claim, ""]
    lines += [
        "FILES",
        "SHA256SUMS lists every file's SHA-256 (`sha256sum -c SHA256SUMS` after unzipping):",
        "that shows the download is complete, not that it is genuine. The signed entry's",
        "hashes, checked above or by `packseal verify`, show that.",
        "",
    ]
    return "\n".join(lines)


def anchor_notes(
    stamps: Sequence[StoredStamp], cosigned: bytes, files: dict[str, tuple[Path, str]]
) -> list[str]:
    out = []
    if stamps:
        out += [
            f"- {STAMP_RESPONSE} is an RFC 3161 time-stamp (asked at {stamps[0].tsa}) over the",
            f"  checkpoint's text; {STAMP_REQUEST} is the request with the station's nonce.",
            "  `openssl ts -reply -in entries/checkpoint.tsr -text` shows its time.",
        ]
    _, sigs = parse(cosigned)
    if len(sigs) > 1:
        out += [
            f"- The checkpoint in entries/*.proof carries {len(sigs) - 1} witness cosignature(s)",
            "  (c2sp.org/tlog-cosignature): each witness saw no other history of this log.",
        ]
    if C2PA_CLIP in files:
        out += [
            f"- {C2PA_CLIP} is {CLIP} with C2PA Content Credentials: one manifest box added",
            "  after ftyp, nothing else changed. Any C2PA reader shows who recorded it; with",
            "  the trust file's c2pa_roots as anchors it validates as Trusted.",
        ]
    return out


def claim_notes(section: dict[str, bytes]) -> list[str]:
    """The README's words on the claim section, if the bundle has one."""
    if not section:
        return []
    doc = json.loads(section[CLAIM_JSON])
    photos = [
        f"  - {p.get('name', '?')}: {p.get('size', '?')} bytes, sha256 {p.get('sha256', '?')}"
        for p in doc.get("photos", [])
        if isinstance(p, dict)
    ]
    return [
        "CLAIM REPORT (claim/)",
        f"claim/ holds a claim check's report ({doc.get('format')}), checked at "
        f"{doc.get('checked_at')}: claim.json, its page claim.pdf / claim.png and one",
        "annotated strip per buyer photo. It is a report, NOT evidence by itself and NOT",
        "signed: it says which labels each photo carries and where it differs from the",
        "sealed packing frame it was compared with. `packseal verify` checks that every",
        "frame it cites is a segment of this clip's signed entry (segment hash and time);",
        "it cannot check the comparison itself. The buyer's photos are not in the bundle;",
        "to match the ones you hold (sha256sum):",
        *photos,
    ]


def _source(clip: Clip, view: str) -> FootageSource | None:
    return next(v.source for v in clip.all_views() if v.view == view)


def _by_hand(
    video: str, parts: Sequence[Part], view: str | None = None, *, further: bool = False
) -> list[str]:
    """``view``: the view's name in a clip of several; ``further``: not the primary."""
    rebased = any(p.restore for p in parts)
    which = f'the "views" item "{view}"\'s' if further else "the top-level (primary view's)"
    lines = [
        "CHECKING THE VIDEO BY HAND (a shell and sha256sum are enough)"
        if view is None
        else f"CHECKING VIEW {view.upper()} ({video}) BY HAND",
        f"{video} is exactly the recorded init section followed by whole recorded segments.",
        'The signed entry entries/clip.json names the SHA-256 of the init section ("init")',
        'and of every segment ("segments", in order, field "sha256"). Cut each part out by',
        "its byte offset and length and hash it; every hash must equal the entry's:",
        *([] if view is None else [f"(for this view: {which} init and segments)"]),
        "",
        f"    tail -c +$((OFFSET + 1)) {video} | head -c LENGTH | sha256sum",
        f"    dd if={video} iflag=skip_bytes,count_bytes skip=OFFSET count=LENGTH bs=1M"
        " | sha256sum",
        "",
    ]
    if rebased:
        lines[1:2] = [
            f"{video} is the recorded init section followed by whole recorded segments, but",
            "for a few bytes that let players show it from 0 to its length: each segment's",
            "decode time (tfdt, 8 bytes) is less the clip's start in the continuous recording",
            "and the init section's leading empty edit (elst) is 0; manifest.json",
            '("video", "timeline") says by how much'
            + (' ("views", "timeline" for this view)' if further else "")
            + ". The commands below write the recorded",
            "values back (printf, octal) between the cut pieces, so any other change shows.",
        ]
    lines.append(f"{'part':<14} {'offset':>12} {'length':>10}  sha256 (as in the signed entry)")
    for p in parts:
        lines.append(f"{p.label:<14} {p.offset:>12} {p.length:>10}  {p.sha256}")
    lines += ["", "The same, as commands; each printed hash must equal the one after '#':", ""]
    for p in parts:
        when = "" if p.ref is None else f" {rfc3339(p.ref.start, ms=True)}"
        lines.append(f"{_cut(video, p)} | sha256sum  # {p.sha256} {p.label}{when}")
    lines.append("")
    return lines


def _cut(video: str, p: Part) -> str:
    """A shell command printing part ``p`` of ``video`` as recorded."""
    if not p.restore:
        return f"tail -c +{p.offset + 1} {video} | head -c {p.length}"
    pieces, pos = [], 0
    for f in sorted(p.restore, key=lambda f: f.at):
        if f.at > pos:
            pieces.append(f"tail -c +{p.offset + pos + 1} {video} | head -c {f.at - pos}")
        octal = "".join(f"\\{b:03o}" for b in f.value.to_bytes(f.width, "big"))
        pieces.append(f"printf '{octal}'")
        pos = f.at + f.width
    pieces.append(f"tail -c +{p.offset + pos + 1} {video} | head -c {p.length - pos}")
    return "{ " + "; ".join(pieces) + "; }"
