"""The hub's faces for people and standard tools: the fleet page, search over every
station, play and export, and C2SP tlog-tiles of each mirrored log.

They are routes of the portal (:mod:`packseal.hub.portal`), so people sign in at
``/login`` with the portal's accounts and sessions, scripts send a portal API token,
and every route declares its roles through ``packseal.web._auth`` like the station's:

=======================================================  ======================  =======
route                                                    what                    who
=======================================================  ======================  =======
``GET /hub``, ``/api/v1/hub/fleet``                      fleet page / JSON       readers
``GET /hub/search``, ``/api/v1/hub/clips``               clips of all stations   readers
``GET|HEAD /hub/clips/<station>/<clip>/video.mp4``       the clip (MP4, ranges)  readers
``GET /hub/clips/<station>/<clip>/bundle.zip``           its evidence bundle     readers
``GET /tiles/<station>/checkpoint``, ``tile/...``        C2SP tlog-tiles         readers
=======================================================  ======================  =======

``video.mp4?view=NAME`` plays another camera of a clip filmed by several.

Tiles never change once served (a partial tile has its width in its path), so they
carry a year-long immutable cache header; only the checkpoint is ``no-cache``.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from packseal.hub.app import Hub
from packseal.hub.exports import export_mirrored, hub_export_policy
from packseal.web._auth import Reader
from packseal.web._context import portal
from packseal.web._http import WebError
from packseal.web._login import page, record
from packseal.web._media import clip_media
from packseal.web._pages import ViewName, media_response
from storage import ClipQuery, ClipRow, FormatError, LogStateError, PacksealError, Store
from storage.hubanchors import export_policy_of
from storage.hubsearch import search_clips, unheld_blobs
from storage.tiles import parse_tile_path

IMMUTABLE = "public, max-age=31536000, immutable"
STALE_MS = 10 * 60_000  # no push for this long: an alarm on the fleet page
SEARCH_FIELDS = ("order", "tracking", "station", "date")


def _reported(text: str | None) -> dict[str, int | None] | None:
    """The station's own X-Packseal-Backlog, as numbers (None: never reported)."""
    if text is None:
        return None
    out: dict[str, int | None] = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        out[key] = None if value == "-" else int(value)
    return out


def fleet_of(hub: Hub) -> dict[str, Any]:
    """Each station's last push, backlog, last checkpoint, consistency, witness, alarms."""
    now = hub.clock.now_ms()
    try:
        lock = hub.blobs.lock().describe()
    except PacksealError as e:
        lock = f"unknown: {e.message}"
    witness = hub.cosigner.verifier
    out = []
    for r in hub.mirror.stations():
        unheld = unheld_blobs(hub.mirror.engine, r.log_id) if r.log_id else None
        checkpoint = None
        cosigned = False
        if r.origin is not None:
            store = hub.mirror.store_of(r.station)
            cp = store.latest_checkpoint()
            if cp is not None:
                checkpoint = {"size": cp.size, "root": cp.root_hash.hex(), "at": cp.signed_ms}
                sigs = hub.mirror.anchors_of(r.origin).cosignatures(cp.size)
                cosigned = any(s.key_id == witness.key_id for s in sigs)
        alarms = []
        if r.misbehaviour:
            alarms.append(f"{r.misbehaviour} proof(s) of misbehaviour: log rewritten")
        if r.last_refusal:
            alarms.append(f"last push refused: {r.last_refusal}")
        if r.revoked_ms is None and (r.last_push_ms is None or now - r.last_push_ms > STALE_MS):
            alarms.append("no push for 10 minutes" if r.last_push_ms else "never pushed")
        out.append(
            {
                "station": r.station,
                "origin": r.origin,
                "enrolled": r.revoked_ms is None,
                "last_push_ms": r.last_push_ms,
                "last_blob_ms": r.last_blob_ms,
                "size": r.size,
                "checkpoint": checkpoint,
                "consistency": "refused: misbehaviour" if r.misbehaviour else "consistent",
                "witness": "cosigned" if cosigned else "not cosigned",
                "backlog": None
                if unheld is None
                else {"blobs": unheld.blobs, "bytes": unheld.bytes, "oldest_ms": unheld.oldest_ms},
                "alarms": alarms,
                "station_backlog": _reported(r.reported_backlog),
                "reported_ms": r.reported_ms,
            }
        )
    return {"object_lock": lock, "witness": witness.vkey, "stations": out}


def _query(request: Request) -> tuple[dict[str, str], ClipQuery]:
    p = request.query_params
    form = {k: p.get(k, "")[:200] for k in SEARCH_FIELDS}
    since = until = None
    if form["date"]:
        try:
            day = dt.date.fromisoformat(form["date"])
        except ValueError as e:
            raise WebError(422, "date must be YYYY-MM-DD", hint="pick a day in the form") from e
        zone = portal(request).zone
        since = int(dt.datetime.combine(day, dt.time(), zone).timestamp() * 1000)
        until = since + 86_400_000
    limit = p.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise WebError(422, "limit must be 1..500", hint="ask for fewer clips at a time")
    return form, ClipQuery(
        order_id=form["order"] or None,
        tracking_id=form["tracking"] or None,
        station=form["station"] or None,
        since_ms=since,
        until_ms=until,
        limit=int(limit),
    )


def _seekable(store: Store, sha256: str) -> io.BufferedReader:
    """A blob from the object store as a seekable reader (one part at a time, a few MB):
    the player's ranges and the clip's rebased first bytes seek within a part."""
    with store.open_blob(sha256) as f:
        data = f.read()
    return io.BufferedReader(io.BytesIO(data))


def hub_router(hub: Hub) -> APIRouter:
    """The hub's pages, JSON and tiles, for the portal's signed-in callers."""
    router = APIRouter(include_in_schema=False)

    def found(request: Request) -> tuple[dict[str, str], list[dict[str, Any]]]:
        form, query = _query(request)
        return form, [
            {
                "station": h.station,
                "clip_id": h.clip.clip_id,
                "order_id": h.clip.order_id,
                "tracking_ids": list(h.clip.tracking_ids),
                "status": h.clip.status,
                "started_ms": h.clip.started_ms,
                "duration_ms": h.clip.duration_ms,
                "bytes": h.clip.bytes,
                "views": list(h.clip.views),  # the cameras, the first first; [] for one
            }
            for h in search_clips(hub.mirror.engine, query)
        ]

    @router.get("/hub")
    def fleet_page(request: Request, who: Reader) -> Response:
        return page(request, "hub_fleet.html", {"active": "fleet", "fleet": fleet_of(hub)})

    @router.get("/api/v1/hub/fleet")
    def fleet_json(request: Request, who: Reader) -> Response:
        return JSONResponse(fleet_of(hub))

    @router.get("/hub/search")
    def search_page(request: Request, who: Reader) -> Response:
        form, clips = found(request)
        return page(
            request,
            "hub_search.html",
            {"active": "hub-search", "form": form, "clips": clips},
        )

    @router.get("/api/v1/hub/clips")
    def clips_json(request: Request, who: Reader) -> Response:
        return JSONResponse({"clips": found(request)[1]})

    def clip_of(station: str, clip_id: str) -> tuple[Store, ClipRow]:
        try:
            store = hub.mirror.store_of(station)
        except LogStateError as e:
            raise WebError(404, e.message, hint="the fleet page lists the stations") from e
        row = store.clip(clip_id)
        if row is None:
            raise WebError(404, f"station {station[:64]} has no clip {clip_id[:64]}")
        return store, row

    @router.api_route("/hub/clips/{station}/{clip_id}/video.mp4", methods=["GET", "HEAD"])
    def video(
        station: str, clip_id: str, request: Request, who: Reader, view: ViewName = None
    ) -> Response:
        # The same bytes, ranges and custody as a station's portal (its clip's timeline).
        store, row = clip_of(station, clip_id)
        media = replace(clip_media(store, row, view), open=lambda sha: _seekable(store, sha))
        return media_response(request, who, row, media, view)

    @router.get("/hub/clips/{station}/{clip_id}/bundle.zip")
    def bundle(station: str, clip_id: str, request: Request, who: Reader) -> FileResponse:
        store, row = clip_of(station, clip_id)
        work = Path(tempfile.mkdtemp(prefix="packseal-hub-"))
        out = work / f"{row.order_id}-{row.clip_id}.zip"
        try:
            policy = hub_export_policy(station, export_policy_of(hub.mirror, station), hub.c2pa)
            result = export_mirrored(store, row.clip_id, out, policy=policy)
        except PacksealError as e:
            work.rmdir()
            raise WebError(409, e.message, hint=e.hint) from e
        record(portal(request), request, who, "export", row, detail=f"hub export of {station}")

        def cleanup() -> None:
            out.unlink(missing_ok=True)
            work.rmdir()

        return FileResponse(
            result.path,
            media_type="application/zip",
            filename=out.name,
            background=BackgroundTask(cleanup),
        )

    # -- C2SP tlog-tiles -------------------------------------------------------------

    @router.get("/tiles/{station}/checkpoint")
    def checkpoint(station: str, who: Reader) -> Response:
        try:
            store = hub.mirror.store_of(station)
        except LogStateError as e:
            raise WebError(404, e.message) from e
        cp = store.latest_checkpoint()
        if cp is None:
            raise WebError(404, "no checkpoint mirrored yet")
        note = hub.mirror.anchors_of(store.origin).cosigned_note(cp)
        return Response(
            note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/tiles/{station}/tile/{path:path}")
    def tile(station: str, path: str, who: Reader) -> Response:
        try:
            ref = parse_tile_path("tile/" + path)
            store = hub.mirror.store_of(station)
            cp = store.latest_checkpoint()
            data = store.read_tile(cp.size if cp else 0, ref)
        except (FormatError, LogStateError) as e:
            raise WebError(404, e.message) from e
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
        )

    return router


__all__ = ["fleet_of", "hub_router"]
