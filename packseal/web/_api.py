"""The JSON API for scripts (``Authorization: Bearer <token>``), described at /openapi.json.

Browsers logged in to the portal may call it too (the audit page polls a run's
progress); a session's POSTs then need the ``X-CSRF-Token`` header like any form.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from packseal._cli_station import clip_json
from packseal.accounts import AuditRun
from packseal.web._auth import Auditor, Reader
from packseal.web._clips import (
    ID_TEXT,
    MAX_PAGE,
    STATUSES,
    Search,
    clip_facts,
    facts_json,
    load_clip,
    parse_search,
    search,
)
from packseal.web._context import portal
from packseal.web._http import MAX_ROW_ID, WebError, error_responses
from packseal.web._login import record
from packseal.web._pages import _download
from storage.facts import rfc3339

router = APIRouter(prefix="/api/v1", tags=["api"])


def run_json(run: AuditRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "user": run.user,
        "status": run.status,
        "started_at": rfc3339(run.started_ms, ms=True),
        "finished_at": rfc3339(run.finished_ms, ms=True) if run.finished_ms else None,
        "done": run.done,
        "total": run.total,
        "summary": dict(run.summary),
        "error": run.error,
    }


@router.get("/me", summary="Who this token or session belongs to", responses=error_responses(401))
def me(who: Reader) -> dict[str, Any]:
    return {"user": who.name, "role": who.role, "via": who.via}


def search_query(
    order: Annotated[
        str | None, Query(max_length=128, pattern=ID_TEXT, description="exact order id")
    ] = None,
    tracking: Annotated[
        str | None,
        Query(max_length=128, pattern=ID_TEXT, description="exact tracking (waybill) id"),
    ] = None,
    station: Annotated[str | None, Query(max_length=128, pattern=ID_TEXT)] = None,
    status: Annotated[
        str | None,
        Query(
            description=", ".join(STATUSES),
            json_schema_extra={"enum": list(STATUSES)},
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(description="first day, YYYY-MM-DD", json_schema_extra={"format": "date"}),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="last day, YYYY-MM-DD (inclusive; not before since)",
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Search:
    params = {k: v for k, v in locals().items() if v is not None}
    s, errors = parse_search({k: str(v) for k, v in params.items()})
    # The portal's form sends empty fields for "any"; a script that sends one has
    # probably lost a value on the way, and the documented schema has none empty.
    errors.update(
        {k: f"{k} is empty: leave it out or give a value" for k, v in params.items() if v == ""}
    )
    if errors:
        raise WebError(
            422,
            "; ".join(errors.values()),
            hint="fix the named query parameters",
        )
    return s


@router.get("/clips", summary="Search clips, newest first", responses=error_responses(401, 422))
def api_search(
    request: Request, who: Reader, s: Annotated[Search, Depends(search_query)]
) -> dict[str, Any]:
    rows, has_next = search(portal(request), s)
    return {
        "clips": [clip_json(r) for r in rows],
        "page": s.page,
        "per_page": s.per_page,
        "next_page": s.page + 1 if has_next else None,
    }


@router.get(
    "/orders/{order_id}",
    summary="The clips of one order, newest first",
    responses=error_responses(401, 404, 422),
)
def api_order(order_id: str, request: Request, who: Reader) -> dict[str, Any]:
    ctx = portal(request)
    _, errors = parse_search({"order": order_id})
    rows = [] if errors else ctx.app.store.clips_of_order(order_id)
    if not rows:
        raise WebError(
            404,
            f"no clip of order {order_id[:128]!r} in this store",
            hint="GET /api/v1/clips?tracking=... searches by waybill",
        )
    return {"order_id": order_id, "clips": [clip_json(r) for r in rows]}


@router.get(
    "/clips/{clip_id}",
    summary="One clip: facts, segments, scans, custody",
    responses=error_responses(401, 404, 410, 422),
)
def api_clip(clip_id: str, request: Request, who: Reader) -> dict[str, object]:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    record(ctx, request, who, "api-view", row)
    return facts_json(clip_facts(ctx, row))


@router.get(
    "/clips/{clip_id}/bundle",
    summary="Download the evidence bundle (zip)",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        **error_responses(401, 404, 409, 410, 422, 507),
    },
)
def api_bundle(clip_id: str, request: Request, who: Reader) -> FileResponse:
    ctx = portal(request)
    row = load_clip(ctx, clip_id)
    return _download(ctx.evidence.bundle(row), ctx, request, who, row, "export-bundle")


@router.get(
    "/audit",
    summary="Store figures and the latest audit run",
    responses=error_responses(401, 403),
)
def api_audit(request: Request, who: Auditor) -> dict[str, Any]:
    ctx = portal(request)
    fig = ctx.app.store.figures()
    runs = ctx.accounts.audit_runs(limit=1)
    cp = fig.checkpoint
    return {
        "origin": fig.origin,
        "log_size": fig.log_size,
        "checkpoint": None
        if cp is None
        else {
            "size": cp.size,
            "signed_at": rfc3339(cp.signed_ms, ms=True),
            "note": cp.note.decode(),
        },
        "clips": fig.clips,
        "storage": {
            "blobs": fig.blobs,
            "bytes_used": fig.blob_bytes,
            "bytes_free": fig.free_bytes,
            "bytes_reserved": fig.reserve_bytes,
        },
        "stations": [
            {
                "station": s.station,
                "clips": s.clips,
                "not_sealed": s.not_sealed,
                "bytes": s.bytes,
                "first_at": rfc3339(s.first_ms, ms=True),
                "last_at": rfc3339(s.last_ms, ms=True),
            }
            for s in fig.stations
        ],
        "last_run": run_json(runs[0]) if runs else None,
    }


@router.post(
    "/audit/runs",
    status_code=202,
    summary="Start a whole-store audit",
    responses=error_responses(401, 403, 409, 413, 429),
)
def api_start_audit(request: Request, who: Auditor) -> JSONResponse:
    ctx = portal(request)
    run = ctx.audits.start(who.name)
    record(ctx, request, who, "audit", detail=f"run {run.id}")
    return JSONResponse(
        run_json(run), status_code=202, headers={"Location": f"/api/v1/audit/runs/{run.id}"}
    )


@router.get(
    "/audit/runs/{run_id}",
    summary="An audit run: progress, then its findings",
    responses=error_responses(401, 403, 404, 422),
)
def api_audit_run(
    run_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], request: Request, who: Auditor
) -> dict[str, Any]:
    run = portal(request).accounts.audit_run(run_id)
    if run is None:
        raise WebError(404, f"no audit run {run_id}", hint="GET /api/v1/audit shows the latest")
    return run_json(run)
