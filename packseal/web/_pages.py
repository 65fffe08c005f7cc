"""The portal's pages for people: clip search, the clip page, video and exports."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from packseal.web._auth import Principal, Reader
from packseal.web._claims import past_checks
from packseal.web._clips import (
    SEARCH_FIELDS,
    STATUSES,
    clip_facts,
    load_clip,
    parse_search,
    search,
)
from packseal.web._context import PortalContext, portal
from packseal.web._evidence import MARKETPLACE_BYTES, Export
from packseal.web._http import WebError
from packseal.web._login import page, record
from packseal.web._media import ByteRanges, ClipMedia, parse_ranges
from storage import ClipRow

router = APIRouter(include_in_schema=False)


# -- search ----------------------------------------------------------------------------


@router.get("/orders/{order_id}")
def order_page(order_id: str, request: Request, who: Reader) -> RedirectResponse:
    """A stable link for a shop's back office: the newest clip of an order."""
    ctx = portal(request)
    s, errors = parse_search({"order": order_id})
    rows = ctx.app.store.clips(s.query(ctx.zone)) if not errors else []
    if not rows:
        raise WebError(
            404,
            f"no clip of order {order_id[:128]} in this store",
            hint="search the clips page by tracking id or date instead",
        )
    return RedirectResponse(f"/clips/{rows[0].clip_id}", status_code=303)


@router.get("/clips")
def clips_page(request: Request, who: Reader) -> Response:
    ctx = portal(request)
    params = request.query_params
    s, errors = parse_search(params)
    rows, has_next = ([], False) if errors else search(ctx, s)
    return page(
        request,
        "clips.html",
        {
            "rows": rows,
            "s": s,
            "errors": errors,
            "form": {k: params.get(k, "")[:200] for k in SEARCH_FIELDS},
            "stations": ctx.app.store.stations(),
            "statuses": STATUSES,
            "has_next": has_next,
            "base_query": {k: params[k] for k in SEARCH_FIELDS if params.get(k)},
        },
        422 if errors else 200,
    )


# -- one clip --------------------------------------------------------------------------


@router.get("/clips/{clip_id}")
def clip_page(clip_id: str, request: Request, who: Reader) -> Response:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    record(ctx, request, who, "view", row)
    facts = clip_facts(ctx, row)
    others = [r for r in ctx.app.store.clips_of_order(row.order_id) if r.clip_id != row.clip_id]
    now = ctx.now_ms()
    shares = [(link, link.state(now)) for link in ctx.shares.links(row.clip_id, limit=20)]
    claims = past_checks(ctx, row.clip_id)
    return page(
        request,
        "clip.html",
        {"f": facts, "others": others, "shares": shares, "claims": claims},
    )


# ?view=NAME: one camera of a clip filmed by several (the first without it).
ViewName = Annotated[str | None, Query(max_length=16, pattern=r"^[a-z0-9][a-z0-9-]{0,15}$")]


@router.api_route("/clips/{clip_id}/video.mp4", methods=["GET", "HEAD"])
def clip_video(clip_id: str, request: Request, who: Reader, view: ViewName = None) -> Response:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    media = ctx.media.get(ctx.app.store, row, view)
    return media_response(request, who, row, media, view)


def media_response(
    request: Request, who: Principal, row: ClipRow, media: ClipMedia, view: str | None = None
) -> Response:
    """A clip's video (whole, one range or several), as every portal serves it; ``view``:
    which camera's, as asked (``None``: the first)."""
    ctx = portal(request)
    wanted = parse_ranges(request.headers.get("range"), media.size)
    # The first camera keeps the tag it had before clips had views.
    further = view is not None and row.views and view != row.views[0]
    headers = {
        "Accept-Ranges": "bytes",
        # A sealed clip's bytes never change; "t0": served on its own timeline (before,
        # the same tag named the sealed bytes, which a cache must not mix in).
        "ETag": f'"{row.clip_id}-{row.idx}-t0{f"-{view}" if further else ""}"',
        "Cache-Control": "private, max-age=3600",
    }
    body: Iterator[bytes]
    if wanted is not None and len(wanted) > 1:
        parts = ByteRanges(media, tuple(wanted), "video/mp4", secrets.token_hex(16))
        headers["Content-Length"] = str(parts.length)
        status, media_type, body = 206, parts.content_type, parts.read()
        start = wanted[0][0]
    else:
        start, end = wanted[0] if wanted is not None else (0, media.size - 1)
        headers["Content-Length"] = str(end - start + 1)
        if wanted is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{media.size}"
        status = 206 if wanted is not None else 200
        media_type, body = "video/mp4", media.read(start, end)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    if start == 0:
        # A player asks for byte 0 once per playback and then for later ranges as it
        # buffers and seeks: one custody event per playback, not one per range.
        record(ctx, request, who, "play", row, detail=f"view {view}" if further else "")
    return StreamingResponse(body, status_code=status, headers=headers, media_type=media_type)


def _download(
    export: Export,
    ctx: PortalContext,
    request: Request,
    who: Principal,
    row: ClipRow,
    action: str,
) -> FileResponse:
    record(ctx, request, who, action, row, detail=export.filename + export.note)
    return FileResponse(
        export.path,
        media_type=export.media_type,
        filename=export.filename,
        background=BackgroundTask(export.cleanup),
        headers={"Cache-Control": "no-store"},
    )


# ?claim=ID: add that claim check's report to the bundle (claim/; kept for this clip only).
ClaimId = Annotated[str | None, Query(max_length=16, pattern=r"^[0-9a-f]{16}$")]


@router.get("/clips/{clip_id}/bundle.zip")
def clip_bundle(clip_id: str, request: Request, who: Reader, claim: ClaimId = None) -> FileResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    export = ctx.evidence.bundle(row, claim=claim)
    return _download(export, ctx, request, who, row, "export-bundle")


@router.get("/clips/{clip_id}/sheet.{fmt}")
def clip_sheet(
    clip_id: str, fmt: Literal["png", "pdf"], request: Request, who: Reader
) -> FileResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    return _download(ctx.evidence.sheet(row, fmt), ctx, request, who, row, f"export-sheet-{fmt}")


@router.get("/clips/{clip_id}/marketplace.zip")
def clip_marketplace_bundle(
    clip_id: str, request: Request, who: Reader, claim: ClaimId = None
) -> FileResponse:
    """The bundle with the video under the marketplace limit (derived only if needed)."""
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    export = ctx.evidence.bundle(row, max_bytes=MARKETPLACE_BYTES, claim=claim)
    return _download(export, ctx, request, who, row, "export-marketplace-bundle")


@router.get("/clips/{clip_id}/marketplace.mp4")
def clip_marketplace(clip_id: str, request: Request, who: Reader) -> FileResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    return _download(ctx.evidence.derived(row), ctx, request, who, row, "export-marketplace")
