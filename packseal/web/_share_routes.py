"""Share links on the portal: a merchant makes or revokes one (clip page), and anyone
holding a live link gets that one clip's verify page, bundle and trust file, nothing else.

The anonymous routes all live under ``/s/<secret>`` and take nothing but the secret: no
clip id, no query, so a link cannot be pointed at another clip. An altered, expired or
revoked secret gets the same 404 as one never issued. Each use is a custody event of the
clip ("share-open", "share-bundle"), by ``share-link-<id>``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from packseal.web._auth import Reader
from packseal.web._clips import load_clip
from packseal.web._context import PortalContext, portal
from packseal.web._http import WebError, client_ip
from packseal.web._login import page, record
from packseal.web.shares import MAX_DAYS, ShareError, ShareLink
from packseal.web.verify_page import page_csp, verify_page

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 30


def share_url(request: Request, secret: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/s/{secret}"


def _live(ctx: PortalContext, secret: str) -> ShareLink:
    link = ctx.shares.resolve(secret, at_ms=ctx.now_ms())
    if link is None:
        raise WebError(
            404,
            "this share link is not valid: it expired, was revoked, or was never issued",
            hint="ask the merchant for a new link",
        )
    return link


def _used(ctx: PortalContext, request: Request, link: ShareLink, action: str) -> None:
    ctx.accounts.record(
        at_ms=ctx.now_ms(),
        user=f"share-link-{link.id}",
        role="anonymous",
        action=action,
        client_ip=client_ip(request),
        clip_id=link.clip_id,
        order_id=link.order_id,
        detail=f"share link {link.id} by {link.created_by}",
    )


# -- anonymous: the holder of a live link ---------------------------------------------------


@router.get("/s/{secret}")
def shared_page(secret: str, request: Request) -> Response:
    ctx = portal(request)
    link = _live(ctx, secret)
    _used(ctx, request, link, "share-open")
    return Response(
        verify_page(),
        media_type="text/html; charset=utf-8",
        # no-store: the page is per link; no-referrer: the secret stays out of other logs
        headers={
            "Content-Security-Policy": page_csp(),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/s/{secret}/bundle.zip")
def shared_bundle(secret: str, request: Request) -> FileResponse:
    ctx = portal(request)
    link = _live(ctx, secret)
    row = load_clip(ctx, link.clip_id)
    export = ctx.evidence.bundle(row)
    _used(ctx, request, link, "share-bundle")
    return FileResponse(
        export.path,
        media_type=export.media_type,
        filename=export.filename,
        background=BackgroundTask(export.cleanup),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get("/s/{secret}/trust.json")
def shared_trust(secret: str, request: Request) -> Response:
    ctx = portal(request)
    _live(ctx, secret)
    return Response(
        ctx.app.trust_file().to_bytes(),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


# -- the merchant: make and revoke --------------------------------------------------------


@router.post("/clips/{clip_id}/share")
def create_share(
    clip_id: str,
    request: Request,
    who: Reader,
    days: Annotated[float, Form(gt=0, le=MAX_DAYS)] = DEFAULT_DAYS,
) -> Response:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    try:
        secret, link = ctx.shares.create(
            row.clip_id, row.order_id, by=who.name, at_ms=ctx.now_ms(), days=days
        )
    except ShareError as e:
        raise WebError(400, e.message, hint=e.hint) from None
    record(ctx, request, who, "share-create", row, detail=f"share link {link.id}, {days:g} days")
    url = share_url(request, secret)
    response = page(request, "share.html", {"r": row, "link": link, "url": url})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/clips/{clip_id}/shares/{link_id}/revoke")
def revoke_share(clip_id: str, link_id: int, request: Request, who: Reader) -> Response:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    link = ctx.shares.get(link_id)
    if link is None or link.clip_id != row.clip_id:
        raise WebError(404, f"clip {row.clip_id} has no share link {link_id}")
    try:
        ctx.shares.revoke(link_id, at_ms=ctx.now_ms())
    except ShareError as e:
        raise WebError(409, e.message, hint=e.hint) from None
    record(ctx, request, who, "share-revoke", row, detail=f"share link {link_id}")
    return RedirectResponse(f"/clips/{row.clip_id}#shares", status_code=303)
