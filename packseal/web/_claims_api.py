"""Claim checks for scripts: the API beside the clip page's form (packseal/web/_claims.py).

Same code, same limits: the body limit of the upload path, 40 MB per file (413), JPEG,
PNG or WebP by the first bytes (415), 1-8 photos, no decompression bomb, nothing over
50 MP, no truncated file (422), the per-user ration (429), one check at a time in a
worker thread; kept and custody-logged as from the page. Roles: any reader of the clip
(merchant, auditor, admin), as the page.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, JSONResponse

from packseal.claims import deleted_note
from packseal.web._auth import Reader
from packseal.web._claims import (
    MAX_PHOTOS,
    kept_claim,
    limits,
    past_checks,
    report_file,
    run_check,
    uploaded,
)
from packseal.web._clips import load_clip
from packseal.web._context import PortalContext, portal
from packseal.web._http import error_responses
from packseal.web._login import record
from storage import ClipRow

router = APIRouter(prefix="/api/v1", tags=["api"])

ClaimId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="a claim check's id")]
ReportFile = Annotated[
    str,
    Path(
        pattern=r"^(claim\.(json|png|pdf)|claim-[1-8]\.png)$",
        description="claim.json, claim.png, claim.pdf or claim-N.png (an annotated photo)",
    ),
]


_FORM = {
    "schema": {
        "type": "object",
        "required": ["photos"],
        "properties": {
            "photos": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "minItems": 1,
                "maxItems": MAX_PHOTOS,
                "description": "the buyer's claim photos (JPEG, PNG or WebP)",
            },
            "listing": {
                "type": "string",
                "format": "binary",
                "description": "the seller's listing photo (optional)",
            },
        },
    }
}


def _files(row: ClipRow, claim_id: str, doc: dict[str, Any]) -> dict[str, str]:
    base = f"/api/v1/clips/{row.clip_id}/claims/{claim_id}"
    names = ["claim.json", "claim.pdf", "claim.png"]
    names += [p["annotated"] for p in doc.get("photos", []) if p.get("annotated")]
    return {name: f"{base}/{name}" for name in names}


def _report(ctx: PortalContext, row: ClipRow, claim_id: str) -> dict[str, Any]:
    where = kept_claim(ctx, row, claim_id)
    doc: dict[str, Any] = json.loads((where / "claim.json").read_text(encoding="utf-8"))
    return {
        "claim_id": claim_id,
        "clip_id": row.clip_id,
        "order_id": row.order_id,
        "report": doc,
        "files": _files(row, claim_id, doc),
        # the buyer's photos, once claims.keep_photos_days deleted them: when and why
        "photos_deleted": deleted_note(where),
    }


@router.post(
    "/clips/{clip_id}/claims",
    status_code=201,
    summary="Check a buyer's claim photos against this clip's sealed footage",
    description=(
        f"Multipart: `photos` (1 to {MAX_PHOTOS} JPEG, PNG or WebP files, 40 MB each at most) "
        "and an optional `listing` photo. The report says which AI-content labels each photo "
        "carries and where it differs from the sealed packing frames; it does not decide "
        "whether a photo is fake. Takes seconds per photo."
    ),
    responses=error_responses(401, 404, 409, 410, 413, 415, 422, 429),
    # The form is read by the route, after the caller's role was checked (FastAPI would
    # spool an anonymous upload before refusing it), with the page's own code.
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": _FORM}}},
)
async def api_claim_check(clip_id: str, request: Request, who: Reader) -> JSONResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    max_bytes, _ = limits()
    form = await request.form(max_files=MAX_PHOTOS + 1)
    try:
        got, listed = await uploaded(form.getlist("photos"), form.get("listing"), max_bytes)
    finally:
        await form.close()
    claim_id = await run_check(ctx, request, who, row, got, listed)
    body = _report(ctx, row, claim_id)
    return JSONResponse(
        body,
        status_code=201,
        headers={"Location": f"/api/v1/clips/{row.clip_id}/claims/{claim_id}"},
    )


@router.get(
    "/clips/{clip_id}/claims",
    summary="The clip's kept claim checks, newest first",
    responses=error_responses(401, 404, 410, 422),
)
def api_claims(clip_id: str, request: Request, who: Reader) -> dict[str, Any]:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    return {
        "clip_id": row.clip_id,
        "claims": [
            {
                "claim_id": c.claim_id,
                "checked_at": c.checked_at,
                "photos": c.photos,
                "url": f"/api/v1/clips/{row.clip_id}/claims/{c.claim_id}",
            }
            for c in past_checks(ctx, row.clip_id)
        ],
    }


@router.get(
    "/clips/{clip_id}/claims/{claim_id}",
    summary="A claim check's report (claim.json) and its files",
    responses=error_responses(401, 404, 410, 422),
)
def api_claim(clip_id: str, claim_id: ClaimId, request: Request, who: Reader) -> dict[str, Any]:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    body = _report(ctx, row, claim_id)
    record(ctx, request, who, "claim-view", row, detail=f"claim {claim_id} via API")
    return body


@router.get(
    "/clips/{clip_id}/claims/{claim_id}/{file}",
    summary="One file of a claim check's report",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/json": {}, "image/png": {}, "application/pdf": {}}},
        **error_responses(401, 404, 410, 422),
    },
)
def api_claim_file(
    clip_id: str, claim_id: ClaimId, file: ReportFile, request: Request, who: Reader
) -> FileResponse:
    return report_file(
        request, who, clip_id, claim_id, file,
        hint="GET the claim check: its `files` lists what there is",
    )  # fmt: skip
