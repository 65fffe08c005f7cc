"""Kept claim checks on disk, and the retention of the buyer photos they hold.

A claim check (portal upload, or the API) is kept in ``<data_dir>/claims/<clip>/<claim>/``:
its report (``claim.json``, ``claim.png``, ``claim.pdf``, the annotated ``claim-N.png``)
and the photos as uploaded (``photo-N``, ``listing``). The buyer's photos are personal
data: :func:`expire_photos` deletes the originals ``claims.keep_photos_days`` after the
check and leaves ``photos-deleted.json`` saying what went, when and under which rule. The
report stays, as the merchant's record of the dispute; its annotated strips and one-page
report carry reduced copies of the photos (what the report page says).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.facts import rfc3339

if TYPE_CHECKING:  # the web extra (argon2): `packseal verify` on a light install loads this
    from packseal.accounts import Accounts

__all__ = [
    "DELETED",
    "ExpiredPhotos",
    "claim_dirs",
    "deleted_note",
    "expire_photos",
    "report_dir",
    "retain",
]

CLAIM_ID = re.compile(r"[0-9a-f]{16}")
PHOTO = re.compile(r"photo-[1-9][0-9]?|listing")
DELETED = "photos-deleted.json"
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class ExpiredPhotos:
    clip_id: str
    order_id: str
    claim_id: str
    checked_ms: int
    files: tuple[str, ...]  # photo-N / listing, deleted (or to delete, on a dry run)
    bytes: int


def claim_dirs(root: Path) -> list[tuple[str, Path]]:
    """(clip id, directory) of every kept claim check under ``root`` (<data_dir>/claims)."""
    if not root.is_dir():
        return []
    out = []
    for clip in sorted(root.iterdir()):
        if not clip.is_dir():
            continue
        out += [(clip.name, d) for d in sorted(clip.iterdir()) if CLAIM_ID.fullmatch(d.name)]
    return out


def expire_photos(
    root: Path, *, keep_days: int, now_ms: int, dry_run: bool = False
) -> list[ExpiredPhotos]:
    """Delete the photos of every claim check older than ``keep_days`` under ``root``.

    A check's age is its ``checked_at`` (claim.json), else the report file's time. Each
    directory whose photos go gets ``photos-deleted.json`` (written before the deletion,
    so an interrupted run is finished by the next one and never leaves photos unsaid).
    """
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    cutoff = now_ms - keep_days * DAY_MS
    out = []
    for clip_id, where in claim_dirs(root):
        photos = sorted(p for p in where.iterdir() if PHOTO.fullmatch(p.name) and p.is_file())
        if not photos:
            continue
        doc = _report(where)
        checked = _checked_ms(doc, where)
        if checked is None or checked > cutoff:
            continue
        found = ExpiredPhotos(
            clip_id,
            str(doc.get("order_id", "")),
            where.name,
            checked,
            tuple(p.name for p in photos),
            sum(p.stat().st_size for p in photos),
        )
        out.append(found)
        if dry_run:
            continue
        note = {
            "deleted_at": rfc3339(now_ms),
            "rule": f"claims.keep_photos_days = {keep_days}",
            "files": [*_already(where), *found.files],
            "kept": "the report: claim.json, claim.png, claim.pdf and the annotated claim-N.png "
            "(which show reduced copies of the photos)",
        }
        tmp = where / f".{DELETED}.tmp"
        tmp.write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, where / DELETED)
        for p in photos:
            p.unlink(missing_ok=True)
    return out


def deleted_note(where: Path) -> dict[str, Any] | None:
    """What ``photos-deleted.json`` of a claim directory says, if its photos were deleted."""
    try:
        doc = json.loads((where / DELETED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _already(where: Path) -> list[str]:
    doc = deleted_note(where)
    files = doc.get("files") if doc else None
    return [str(f) for f in files] if isinstance(files, list) else []


def _report(where: Path) -> dict[str, Any]:
    try:
        doc = json.loads((where / "claim.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _checked_ms(doc: dict[str, Any], where: Path) -> int | None:
    said = doc.get("checked_at")
    if isinstance(said, str):
        try:
            return round(datetime.fromisoformat(said).timestamp() * 1000)
        except ValueError:
            pass
    # No readable report (a check that failed half-way, a damaged file): the photos' own
    # time, so they are not kept for ever.
    try:
        return round(min(p.stat().st_mtime for p in where.iterdir()) * 1000)
    except (OSError, ValueError):
        return None


def retain(
    root: Path, accounts: Accounts, *, keep_days: int, now_ms: int, dry_run: bool = False
) -> list[ExpiredPhotos]:
    """:func:`expire_photos`, each deletion a custody event of its clip (user ``retention``)."""
    expired = expire_photos(root, keep_days=keep_days, now_ms=now_ms, dry_run=dry_run)
    if dry_run:
        return expired
    for e in expired:
        accounts.record(
            at_ms=now_ms,
            user="retention",
            role="system",
            action="claim-photos-deleted",
            client_ip="",
            clip_id=e.clip_id,
            order_id=e.order_id or None,
            detail=f"claim {e.claim_id}: {', '.join(e.files)} deleted after {keep_days} days "
            "(claims.keep_photos_days); the report stays",
        )
    return expired


def report_dir(root: Path, clip_id: str, said: str) -> Path:
    """The report directory ``said`` names for a bundle of ``clip_id``: a directory
    (``packseal claim -o DIR``), or the id of a check kept under ``root`` for that clip.

    Raises ValueError (a caller's mistake) when it names neither.
    """
    path = Path(said)
    if path.is_dir():
        return path
    if CLAIM_ID.fullmatch(said):
        kept = root / clip_id / said
        if (kept / "claim.json").is_file():
            return kept
        others = [c for c, d in claim_dirs(root) if d.name == said]
        if others:
            raise ValueError(
                f"claim check {said} is of clip {others[0]}, not of clip {clip_id}: "
                "a bundle carries only a claim report of its own clip"
            )
        raise ValueError(f"no claim check {said} is kept for clip {clip_id}")
    raise ValueError(
        f"--claim {said!r} is neither a directory nor a claim id (16 hex digits, as on the "
        "clip page)"
    )
