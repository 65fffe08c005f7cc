"""Claim checks from the clip page: a merchant uploads the buyer's damage photos (and the
listing photo), the portal holds them against this clip's sealed footage
(:mod:`verifier.claim`) and shows the report.

Limits come before any decoding: the whole upload is capped by the body limit
(:data:`UPLOAD_BYTES`, set for this path only), each file by the claim package's
``MAX_BYTES`` (413) and its first bytes must be JPEG, PNG or WebP (415); the claim
package then refuses a declared size over ``MAX_PIXELS`` before decoding (422). A check
costs seconds of CPU: it runs in a worker thread (the event loop keeps serving), one at
a time on the portal, and each user may start at most ``per_user`` per ``window_ms``
(429, as audits are rationed).

Reports are kept with the uploaded photos in ``<data_dir>/claims/<clip>/<claim>/`` and
every check, view and download is a custody event of the clip.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from packseal.claims import deleted_note, retain
from packseal.web._auth import Principal, Reader
from packseal.web._clips import load_clip
from packseal.web._context import PortalContext, portal
from packseal.web._http import WebError
from packseal.web._login import page, record
from packseal.web._templates import page_language
from storage import ClipRow
from storage.zones import local_zone
from verifier._claim_words import why_not_from_dict

router = APIRouter(include_in_schema=False)

MAX_PHOTOS = 8  # claim photos per check (a marketplace claim form takes 3-9)
# The whole multipart body of one check: a few full-size phone photos. Each file is held
# to the claim package's MAX_BYTES on top of this.
UPLOAD_BYTES = 120 << 20
# The page's form and the API's route (packseal/web/_claims_api.py) take the same uploads.
UPLOAD_PATH = re.compile(r"(?:/api/v1)?/clips/[0-9A-Za-z_-]{1,64}/claims?")
CLAIM_ID = re.compile(r"[0-9a-f]{16}")
FILES = {"claim.json": "application/json", "claim.png": "image/png", "claim.pdf": "application/pdf"}
_ANNOTATED = re.compile(r"claim-[1-9][0-9]?\.png")

Kind = Literal["jpeg", "png", "webp"]


def sniff(head: bytes) -> Kind | None:
    """The image type by its first bytes (a name or a declared type is the sender's say)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def claims_dir(ctx: PortalContext, clip_id: str) -> Path:
    return Path(ctx.app.config.data_dir) / "claims" / clip_id


def retain_photos(ctx: PortalContext) -> None:
    """Delete the buyer photos past ``claims.keep_photos_days`` (custody-logged): at the
    portal's start and after each check, so a portal that runs for months keeps none
    longer than the rule (``packseal purge`` does the same)."""
    retain(
        Path(ctx.app.config.data_dir) / "claims",
        ctx.accounts,
        keep_days=ctx.app.config.claims.keep_photos_days,
        now_ms=ctx.now_ms(),
    )


@dataclass(frozen=True, slots=True)
class PastCheck:
    claim_id: str
    checked_at: str
    photos: int


def past_checks(ctx: PortalContext, clip_id: str, limit: int = 20) -> list[PastCheck]:
    """The clip's kept claim checks, newest first (for the clip page's list)."""
    where = claims_dir(ctx, clip_id)
    if not where.is_dir():
        return []
    found = []
    for d in where.iterdir():
        doc = d / "claim.json"
        if CLAIM_ID.fullmatch(d.name) and doc.is_file():
            found.append((doc.stat().st_mtime, d.name, doc))
    out = []
    for _, name, doc in sorted(found, reverse=True)[:limit]:
        try:
            data = json.loads(doc.read_text(encoding="utf-8"))
            out.append(PastCheck(name, str(data["checked_at"]), len(data["photos"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a report being written or damaged: its own page says so
    return out


def limits() -> tuple[int, int]:
    try:
        from verifier.claim import MAX_BYTES, MAX_PIXELS
    except ImportError as e:
        raise WebError(
            503,
            f"this installation cannot load verifier.claim ({e})",
            hint="install packseal[all]; the rest of the portal keeps working",
        ) from None
    return MAX_BYTES, MAX_PIXELS


async def _read(upload: UploadFile, max_bytes: int) -> tuple[str, bytes]:
    name = Path(upload.filename or "photo").name[:120] or "photo"
    if upload.size is not None and upload.size > max_bytes:
        raise WebError(
            413,
            f"{name} is {upload.size} bytes; a claim photo may be at most {max_bytes}",
            hint="upload the photo as the buyer sent it (phone photos are 2-12 MB)",
        )
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WebError(
            413, f"{name} is larger than {max_bytes} bytes", hint="upload a smaller file"
        )
    if not data:
        raise WebError(422, f"{name} is empty", hint="choose the photo file again")
    if sniff(data[:16]) is None:
        raise WebError(
            415,
            f"{name} is not a JPEG, PNG or WebP image (its first bytes are {data[:8].hex()})",
            hint="upload the photo file itself (JPEG, PNG or WebP), not a document or archive",
        )
    return name, data


async def uploaded(
    photos_in: list[UploadFile | str], listing_in: UploadFile | str | None, max_bytes: int
) -> tuple[list[tuple[str, bytes]], tuple[str, bytes] | None]:
    uploads = [f for f in photos_in if isinstance(f, UploadFile) and f.filename]
    if not uploads:
        raise WebError(
            422,
            "the form holds no claim photo",
            hint=f"choose 1 to {MAX_PHOTOS} photos the buyer sent",
        )
    if len(uploads) > MAX_PHOTOS:
        raise WebError(
            422,
            f"{len(uploads)} photos sent; a check takes at most {MAX_PHOTOS}",
            hint="split the photos over several checks",
        )
    photos = [await _read(f, max_bytes) for f in uploads]
    listing = (
        await _read(listing_in, max_bytes)
        if isinstance(listing_in, UploadFile) and listing_in.filename
        else None
    )
    return photos, listing


@router.post("/clips/{clip_id}/claim")
async def claim_check(clip_id: str, request: Request, who: Reader) -> RedirectResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    max_bytes, _ = limits()
    form = await request.form(max_files=MAX_PHOTOS + 1)
    try:
        photos, listing = await uploaded(form.getlist("photos"), form.get("listing"), max_bytes)
    finally:
        await form.close()  # the spooled temporary files of the upload
    claim_id = await run_check(ctx, request, who, row, photos, listing)
    return RedirectResponse(f"/clips/{row.clip_id}/claims/{claim_id}", status_code=303)


async def run_check(
    ctx: PortalContext,
    request: Request,
    who: Principal,
    row: ClipRow,
    photos: list[tuple[str, bytes]],
    listing: tuple[str, bytes] | None,
) -> str:
    """One claim check of ``row`` (the page's form and the API): rationed per user, run
    in a worker thread one at a time, kept and custody-logged. Its claim id."""
    ctx.claims.admit(who.name, ctx.now_ms())
    claim_id = secrets.token_hex(8)
    out = claims_dir(ctx, row.clip_id) / claim_id
    language = page_language(request)
    await run_in_threadpool(_run, ctx, row, photos, listing, out, language)
    names = ", ".join(n for n, _ in photos)
    record(ctx, request, who, "claim-check", row, detail=f"claim {claim_id}: {names}"[:300])
    return claim_id


def _run(
    ctx: PortalContext,
    row: ClipRow,
    photos: list[tuple[str, bytes]],
    listing: tuple[str, bytes] | None,
    out: Path,
    language: str,
) -> None:
    from verifier.claim import ClaimError, ClaimPhotoError, check_claim

    cfg = ctx.app.config
    with ctx.claims.running:
        try:
            check_claim(
                ctx.app.store,
                row.clip_id,
                photos,
                out,
                at_ms=ctx.now_ms(),
                listing=listing,
                merchant=cfg.merchant.name,
                zone=local_zone(cfg.station.timezone),
                language=language,
            )
        except ClaimPhotoError as e:
            shutil.rmtree(out, ignore_errors=True)
            raise WebError(422, e.message, hint=e.hint) from None
        except ClaimError as e:
            shutil.rmtree(out, ignore_errors=True)
            raise WebError(409, e.message, hint=e.hint) from None
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            raise
    # The photos as uploaded, beside their report: what was checked is kept.
    for n, (_, data) in enumerate(photos, start=1):
        (out / f"photo-{n}").write_bytes(data)
    if listing is not None:
        (out / "listing").write_bytes(listing[1])
    retain_photos(ctx)


def kept_claim(ctx: PortalContext, row: ClipRow, claim_id: str) -> Path:
    where = claims_dir(ctx, row.clip_id) / claim_id
    if not CLAIM_ID.fullmatch(claim_id) or not (where / "claim.json").is_file():
        raise WebError(
            404,
            f"no claim check {claim_id[:40]} of clip {row.clip_id}",
            hint="run a claim check from the clip page",
        )
    return where


@router.get("/clips/{clip_id}/claims/{claim_id}")
def claim_page(clip_id: str, claim_id: str, request: Request, who: Reader) -> Response:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    where = kept_claim(ctx, row, claim_id)
    doc: dict[str, Any] = json.loads((where / "claim.json").read_text(encoding="utf-8"))
    record(ctx, request, who, "claim-view", row, detail=f"claim {claim_id}")
    language = page_language(request)
    return page(
        request,
        "claim.html",
        {
            "r": row,
            "claim_id": claim_id,
            "doc": doc,
            "photos": [_shown(p, language) for p in doc["photos"]],
            "photos_deleted": deleted_note(where),
        },
    )


# verifier.claim.compare.UNSEEN_SAID (a test holds them equal): the page, the CLI and the
# portal mention the part not compared from the same share up. Not imported: that module
# loads OpenCV, and a portal shows kept reports without it.
UNSEEN_SAID = 0.01


def _unseen_said(fraction: float) -> int:
    """The share of the product not compared, in whole percent, as the claim page and
    the CLI say it; 0 when they do not mention it."""
    return round(100 * fraction) if fraction >= UNSEEN_SAID else 0


def _also(v: dict[str, Any]) -> dict[str, Any]:
    """Another sealed frame compared where the first hides part of the product, or shows
    something over it that the photo does not."""
    return {
        **v["reference"],
        "pct": round(100 * float(v["compared_fraction"])),
        "why": v.get("why", "hidden"),  # reports kept before 2026-12-06 have no "why"
    }


def _shown(p: dict[str, Any], language: str) -> dict[str, Any]:
    """What the page lists of one photo: its labels (facts apart) and the comparison."""
    footage = p.get("footage") or {}
    english = footage.get("why_not_found", "")
    return {
        "name": p["name"],
        "annotated": p.get("annotated"),
        "size": p["size"],
        "format": p["format"],
        "width": p["width"],
        "height": p["height"],
        "labels": [f for f in p["findings"] if f["kind"] != "fact"],
        "facts": [f for f in p["findings"] if f["kind"] == "fact"],
        "outcome": footage.get("outcome"),
        "why_not_found": why_not_from_dict(footage.get("why_not"), language) or english,
        "regions": len(footage.get("regions", [])),
        "unseen": _unseen_said(float(footage.get("unseen_fraction") or 0)),
        "reference": footage.get("reference"),
        "also": [_also(v) for v in footage.get("also_compared") or []],
        "listing": (p.get("listing") or {}).get("outcome"),
    }


@router.get("/clips/{clip_id}/claims/{claim_id}/{file}")
def claim_file(
    clip_id: str, claim_id: str, file: str, request: Request, who: Reader
) -> FileResponse:
    return report_file(
        request, who, clip_id, claim_id, file,
        hint="its files are claim.json, claim.png, claim.pdf and claim-N.png",
    )  # fmt: skip


def report_file(
    request: Request, who: Principal, clip_id: str, claim_id: str, file: str, *, hint: str
) -> FileResponse:
    """One file of a kept check's report (the page's and the API's route), custody-logged."""
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    where = kept_claim(ctx, row, claim_id)
    media = file_type(file)
    if media is None or not (where / file).is_file():
        raise WebError(404, f"claim check {claim_id} has no file {file[:60]}", hint=hint)
    record_download(ctx, request, who, row, claim_id, file)
    return FileResponse(
        where / file,
        media_type=media,
        filename=f"{row.order_id}-{file}" if file != "claim.png" else None,
        content_disposition_type="attachment" if file in ("claim.json", "claim.pdf") else "inline",
        headers={"Cache-Control": "private, no-store"},
    )


def file_type(name: str) -> str | None:
    """The media type of a report file the routes serve (never the kept photos)."""
    return FILES.get(name) or ("image/png" if _ANNOTATED.fullmatch(name) else None)


def record_download(
    ctx: PortalContext, request: Request, who: Principal, row: ClipRow, claim_id: str, name: str
) -> None:
    # The report page shows claim.png and the annotated strips: those are part of a view
    # (recorded once as claim-view); the downloads are exports.
    if name in ("claim.json", "claim.pdf"):
        record(ctx, request, who, "export-claim", row, detail=f"claim {claim_id} {name}")
