"""The bundle's claim section (``claim/``): what verify can check of a claim report.

A claim report (``packseal-claim/v1``, :mod:`verifier.claim.report`) says which buyer
photo was held against which sealed packing frame and what differed. It is not signed:
the merchant's portal or CLI wrote it, and anyone holding the bundle could edit it. So
verify checks what the bundle can prove about it, and no more:

- the report is of this bundle's clip and order, as the signed clip entry names them;
- every packing frame it cites (clip, segment n of N, segment hash, capture time) is a
  segment of this clip's signed entry, at a time inside that segment — a report citing
  other footage fails;
- the section holds the report's page and exactly the annotated strips it names, each
  listed in SHA256SUMS and the manifest (the zip check).

Whether a region differs, and which labels a photo carries, is the report's say: the
check passes as "included; a report, not evidence by itself". The buyer's photos are not
in the bundle (claim.json gives each one's SHA-256 and size, to match the photo a
reviewer holds). The check is pure (bytes in, a :class:`Check` out; no OpenCV);
:func:`section_from_report` reads a report directory for the exporter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from storage.entries import Clip
from storage.text import printable
from verifier._errors import VerifierError
from verifier._layout import (
    CAPS,
    CLAIM_JSON,
    CLAIM_MEMBERS,
    CLAIM_PDF,
    CLAIM_PNG,
    CLAIM_STRIPS,
    MAX_CLAIM_PHOTOS,
)
from verifier._report import Check, failed
from verifier._zip import Problem

__all__ = ["CLAIM_FORMAT", "check_claim_section", "section_from_report"]

CLAIM_FORMAT = "packseal-claim/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_claim_section(members: dict[str, bytes], clip: Clip | None, clip_error: str) -> Check:
    """The ``claim`` check of a bundle whose small members are ``members``."""
    present = [n for n in CLAIM_MEMBERS if n in members]
    if not present:
        return Check("claim", True, "no claim report in the bundle")
    raw = members.get(CLAIM_JSON)
    if raw is None:
        return Check(
            "claim",
            False,
            f"the claim section has {', '.join(present)} but no {CLAIM_JSON}",
            CLAIM_JSON,
            "nothing",
        )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return Check(
            "claim",
            False,
            f"{CLAIM_JSON} is not JSON: 「{e}」",
            f"a {CLAIM_FORMAT} report",
            "bytes that do not parse",
        )
    if not isinstance(doc, dict) or doc.get("format") != CLAIM_FORMAT:
        said = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        return Check(
            "claim",
            False,
            f"{CLAIM_JSON} is not a {CLAIM_FORMAT} report (format {printable(str(said), 60)})",
            CLAIM_FORMAT,
            printable(str(said), 60),
        )
    if clip is None:
        return Check("claim", None, f"not checked: {clip_error}")
    problems = _identity(doc, clip) + _files(doc, members)
    cited, frame_problems = _frames(doc, clip)
    problems += frame_problems
    if problems:
        return failed("claim", problems)
    photos = doc["photos"]
    where = "; ".join(cited[:4]) + ("; …" if len(cited) > 4 else "")
    frames = (
        f"cites {len(cited)} packing frame(s), each in a segment of this clip's signed entry "
        f"({where})"
        if cited
        else "cites no packing frame (the product was not found in the footage)"
    )
    return Check(
        "claim",
        True,
        f"included; a report, not evidence by itself: {CLAIM_JSON} of {len(photos)} buyer "
        f"photo(s) (not in the bundle; their SHA-256 are in it) {frames}",
    )


def _identity(doc: dict[str, Any], clip: Clip) -> list[Problem]:
    problems = []
    for key, proven in (("clip_id", clip.clip_id), ("order_id", clip.order_id)):
        said = doc.get(key)
        if said != proven:
            shown = printable(str(said), 120)
            problems.append(
                Problem(
                    f"{CLAIM_JSON} is a report of {key.replace('_', ' ')} {shown}; the bundle's "
                    f"signed entry is of {printable(proven, 120)}",
                    printable(proven, 120),
                    shown,
                )
            )
    if not isinstance(doc.get("photos"), list) or not doc["photos"]:
        problems.append(Problem(f"{CLAIM_JSON} lists no photos", "a list of photos", "none"))
    return problems


def _files(doc: dict[str, Any], members: dict[str, bytes]) -> list[Problem]:
    """The page and exactly the strips the report names (``annotated``: claim-N.png)."""
    problems = [
        Problem(f"the claim section has no {name}", name, "nothing")
        for name in (CLAIM_PNG, CLAIM_PDF)
        if name not in members
    ]
    photos = _photos(doc)
    named = set()
    for n, photo in enumerate(photos, start=1):
        strip = photo.get("annotated") if isinstance(photo, dict) else None
        member = f"claim/{strip}" if isinstance(strip, str) else None
        if member not in CLAIM_STRIPS:
            problems.append(
                Problem(
                    f"{CLAIM_JSON} photo {n} names strip {printable(str(strip), 60)}, not a "
                    "claim-N.png of the section",
                    "claim-1.png .. claim-8.png",
                    printable(str(strip), 60),
                )
            )
            continue
        named.add(member)
        if member not in members:
            problems.append(Problem(f"{member}, named by {CLAIM_JSON}, is missing", member))
    for extra in sorted(n for n in CLAIM_STRIPS if n in members and n not in named):
        problems.append(Problem(f"{extra} is in the claim section but {CLAIM_JSON} names it not"))
    return problems


def _frames(doc: dict[str, Any], clip: Clip) -> tuple[list[str], list[Problem]]:
    """Each packing frame a photo was compared with, against the signed entry."""
    cited: list[str] = []
    problems: list[Problem] = []
    photos = _photos(doc)
    n_segments = len(clip.segments)
    for n, photo in enumerate(photos, start=1):
        footage = photo.get("footage") if isinstance(photo, dict) else None
        ref = footage.get("reference") if isinstance(footage, dict) else None
        if ref is None:
            continue  # the product was not found: nothing cited
        if not isinstance(ref, dict) or ref.get("source") != "footage":
            problems.append(
                Problem(
                    f"{CLAIM_JSON} photo {n}: its footage reference is not a packing frame",
                    "a reference with source 'footage'",
                    printable(str(ref), 80),
                )
            )
            continue
        seg, of, sha, t_ms = (ref.get(k) for k in ("segment", "segments", "segment_sha256", "t_ms"))
        what = f"{CLAIM_JSON} photo {n} cites"
        if ref.get("clip_id") != clip.clip_id:
            problems.append(
                Problem(
                    f"{what} a frame of clip {printable(str(ref.get('clip_id')), 80)}, not of "
                    f"this bundle's clip {clip.clip_id}",
                    clip.clip_id,
                    printable(str(ref.get("clip_id")), 80),
                )
            )
            continue
        if not (
            isinstance(seg, int)
            and isinstance(of, int)
            and isinstance(t_ms, int)
            and isinstance(sha, str)
            and _HEX64.fullmatch(sha)
        ):
            problems.append(
                Problem(
                    f"{what} a frame without segment, segments, segment_sha256 and t_ms",
                    "integers and a SHA-256",
                    printable(str(ref), 80),
                )
            )
            continue
        if of != n_segments or not 1 <= seg <= n_segments:
            problems.append(
                Problem(
                    f"{what} segment {seg} of {of}; the signed entry has {n_segments} segments",
                    f"a segment 1..{n_segments} of {n_segments}",
                    f"{seg} of {of}",
                )
            )
            continue
        signed = clip.segments[seg - 1]
        if sha != signed.sha256:
            problems.append(
                Problem(
                    f"{what} segment {seg} of {of} with sha256 {sha}, which is not that segment "
                    "of this clip's signed entry (other footage)",
                    signed.sha256,
                    sha,
                )
            )
            continue
        if not signed.start <= t_ms <= signed.end:
            problems.append(
                Problem(
                    f"{what} a frame at {t_ms} ms, outside segment {seg} "
                    f"({signed.start}..{signed.end} ms)",
                    f"{signed.start}..{signed.end}",
                    str(t_ms),
                )
            )
            continue
        cited.append(f"photo {n}: segment {seg}/{of} sha256 {sha[:16]}…")
    return cited, problems


def _photos(doc: dict[str, Any]) -> list[Any]:
    photos = doc.get("photos")
    return photos if isinstance(photos, list) else []


def section_from_report(report_dir: Path, clip: Clip) -> dict[str, bytes]:
    """The claim section's members from a claim check's report directory (``packseal
    claim -o DIR``, or the portal's kept check): claim.json, its page, and the strips it
    names; never the buyer's photos kept beside them.

    Raises :class:`VerifierError` when the report is incomplete, too large, or not one
    that would pass the ``claim`` check against ``clip`` (a bundle that cannot verify
    is worse than none).
    """
    if not (report_dir / "claim.json").is_file():
        raise VerifierError(
            f"{report_dir} holds no claim.json",
            hint="give the directory `packseal claim -o DIR` wrote, or a claim id from the "
            "clip page",
        )
    section: dict[str, bytes] = {}
    names = [CLAIM_JSON, CLAIM_PNG, CLAIM_PDF]
    try:
        doc = json.loads((report_dir / "claim.json").read_text(encoding="utf-8"))
        strips = [p.get("annotated") for p in _photos(doc) if isinstance(p, dict)]
    except (OSError, ValueError, AttributeError) as e:
        raise VerifierError(f"{report_dir / 'claim.json'} is not a claim report: {e}") from e
    if len(strips) > MAX_CLAIM_PHOTOS:
        raise VerifierError(
            f"the claim report covers {len(strips)} photos; a bundle carries at most "
            f"{MAX_CLAIM_PHOTOS}",
            hint="check at most 8 photos per report (as the portal does)",
        )
    names += [f"claim/{s}" for s in strips if isinstance(s, str) and f"claim/{s}" in CLAIM_STRIPS]
    for name in names:
        path = report_dir / name.removeprefix("claim/")
        try:
            size = path.stat().st_size
            if size > CAPS[name]:
                raise VerifierError(f"{path} is {size} bytes, over the {CAPS[name]}-byte cap")
            section[name] = path.read_bytes()
        except FileNotFoundError:
            continue  # the check below names what is missing
    check = check_claim_section(section, clip, "")
    if check.ok is not True:
        raise VerifierError(
            f"the claim report in {report_dir} cannot go in this clip's bundle: {check.message}",
            hint="export the order the claim check was made for",
        )
    return section
