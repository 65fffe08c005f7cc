"""The hub's faces for people and standard tools: the fleet page, search over every
station, play and export, and C2SP tlog-tiles of each mirrored log.

===================================================  =====================  ==========
route                                                what                   who
===================================================  =====================  ==========
``GET /hub``, ``/hub/v1/fleet``                      fleet page / JSON      any role
``GET /hub/search``, ``/hub/v1/clips``               clips of all stations  any role
``GET /hub/v1/clips/<station>/<clip>/video``         the sealed clip (MP4)  any role
``GET /hub/v1/clips/<station>/<clip>/bundle``        its evidence bundle    merchant,
                                                                            admin
``GET /tiles/<station>/checkpoint``                  latest checkpoint      auditor,
``GET /tiles/<station>/tile/...``                    hash tiles, entries    merchant,
                                                                            admin
===================================================  =====================  ==========

Callers authenticate with ``Authorization: Bearer <token>`` from ``packseal hub user``
(portal accounts in the hub's database: ``packseal.accounts``). Tiles never change once
served (a partial tile has its width in its path), so they carry a year-long immutable
cache header; only the checkpoint is ``no-cache``.
"""

from __future__ import annotations

import datetime as dt
import html
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from packseal.accounts import User
from packseal.hub.app import Hub
from packseal.hub.exports import export_mirrored
from storage import ClipQuery, FormatError, LogStateError, PacksealError
from storage.hubsearch import search_clips, unheld_blobs
from storage.tiles import parse_tile_path

IMMUTABLE = "public, max-age=31536000, immutable"
ANY_ROLE = frozenset({"merchant", "auditor", "admin"})
EXPORTERS = frozenset({"merchant", "admin"})
READERS = frozenset({"merchant", "auditor", "admin"})
STALE_MS = 10 * 60_000  # no push for this long: an alarm on the fleet page

CSS = """
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.3rem} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} .ok{color:#1a7f37} .alarm{color:#cf222e;font-weight:600}
.muted{color:#57606a} form{margin:1rem 0} input{padding:.25rem;margin-right:.5rem}
"""


class _Denied(PacksealError):
    """A hub page or API request refused with ``status`` (answered as JSON)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _ms(ms: int | None) -> str:
    if ms is None:
        return "never"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _reported(text: str | None) -> dict[str, int | None] | None:
    """The station's own X-Packseal-Backlog, as numbers (None: never reported)."""
    if text is None:
        return None
    out: dict[str, int | None] = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        out[key] = None if value == "-" else int(value)
    return out


def _page(title: str, body: str) -> Response:
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><link rel=stylesheet href=/hub/static/hub.css>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(doc, media_type="text/html; charset=utf-8")


def add_hub_web(api: FastAPI, hub: Hub) -> None:
    def caller(request: Request, roles: frozenset[str]) -> User:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Denied(401, "login required: Authorization: Bearer <token>")
        user = hub.accounts.token_user(token.strip(), at_ms=hub.clock.now_ms())
        if user is None:
            raise _Denied(401, "this token is not a live token of this hub")
        if user.role not in roles:
            raise _Denied(403, f"role {user.role} may not use this")
        return user

    @api.exception_handler(_Denied)
    async def denied(_: Request, e: _Denied) -> Response:
        return JSONResponse(
            {"error": {"status": e.status, "message": e.message, "hint": None}},
            status_code=e.status,
            headers={"WWW-Authenticate": "Bearer"} if e.status == 401 else None,
        )

    @api.get("/hub/static/hub.css")
    def css() -> Response:
        return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    # -- the fleet -------------------------------------------------------------------

    def fleet() -> dict[str, Any]:
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
                    else {
                        "blobs": unheld.blobs,
                        "bytes": unheld.bytes,
                        "oldest_ms": unheld.oldest_ms,
                    },
                    "alarms": alarms,
                    "station_backlog": _reported(r.reported_backlog),
                    "reported_ms": r.reported_ms,
                }
            )
        return {"object_lock": lock, "witness": witness.vkey, "stations": out}

    @api.get("/hub/v1/fleet")
    def fleet_json(request: Request) -> Response:
        caller(request, ANY_ROLE)
        return JSONResponse(fleet())

    @api.get("/hub")
    def fleet_page(request: Request) -> Response:
        caller(request, ANY_ROLE)
        doc = fleet()
        rows = []
        for s in doc["stations"]:
            cp = s["checkpoint"]
            backlog = s["backlog"]
            told = s["station_backlog"]
            told_html = (
                "<div class=muted>station: not reported</div>"
                if told is None
                else f"<div class=muted>station unsent: {told['entries']} entries, "
                f"{told['blobs']} blobs, {(told['bytes'] or 0) / 1e6:.1f} MB"
                + (f", oldest {_ms(told['oldest'])}" if told["oldest"] else "")
                + f" (as of {_ms(s['reported_ms'])})</div>"
            )
            alarms = "".join(f"<div class=alarm>{html.escape(a)}</div>" for a in s["alarms"])
            rows.append(
                "<tr>"
                f"<td>{html.escape(s['station'])}<div class=muted>"
                f"{html.escape(s['origin'] or '-')}</div></td>"
                f"<td>{_ms(s['last_push_ms'])}</td>"
                + (
                    f"<td>{backlog['blobs']} blobs, {backlog['bytes'] / 1e6:.1f} MB"
                    + (
                        f"<div class=muted>oldest {_ms(backlog['oldest_ms'])}</div>"
                        if backlog["blobs"]
                        else ""
                    )
                    + told_html
                    + "</td>"
                    if backlog
                    else "<td>-</td>"
                )
                + (
                    f"<td>size {cp['size']}<div class=muted>{cp['root'][:16]}…</div></td>"
                    if cp
                    else "<td>none</td>"
                )
                + f"<td class={'alarm' if 'refused' in s['consistency'] else 'ok'}>"
                f"{html.escape(s['consistency'])}</td>"
                f"<td>{html.escape(s['witness'])}</td>"
                f"<td>{alarms or '<span class=ok>none</span>'}</td></tr>"
            )
        body = (
            f"<p>Object Lock: <b>{html.escape(doc['object_lock'])}</b> &middot; "
            f"hub witness key <code>{html.escape(doc['witness'])}</code> &middot; "
            "<a href=/hub/search>search all stations</a></p>"
            "<table><tr><th>station</th><th>last push</th><th>backlog (blobs not held)</th>"
            "<th>last checkpoint</th><th>consistency</th><th>witness</th><th>alarms</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        return _page(f"Fleet: {len(doc['stations'])} stations", body)

    # -- search, play, export --------------------------------------------------------

    def query_of(request: Request) -> ClipQuery:
        p = request.query_params
        since = until = None
        if p.get("date"):
            try:
                day = dt.date.fromisoformat(p["date"])
            except ValueError as e:
                raise _Denied(422, "date must be YYYY-MM-DD") from e
            since = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() * 1000)
            until = since + 86_400_000
        limit = p.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            raise _Denied(422, "limit must be 1..500")
        return ClipQuery(
            order_id=p.get("order") or None,
            tracking_id=p.get("tracking") or None,
            station=p.get("station") or None,
            since_ms=since,
            until_ms=until,
            limit=int(limit),
        )

    def found(request: Request) -> list[dict[str, Any]]:
        return [
            {
                "station": h.station,
                "clip_id": h.clip.clip_id,
                "order_id": h.clip.order_id,
                "tracking_ids": list(h.clip.tracking_ids),
                "status": h.clip.status,
                "started_ms": h.clip.started_ms,
                "duration_ms": h.clip.duration_ms,
                "bytes": h.clip.bytes,
            }
            for h in search_clips(hub.mirror.engine, query_of(request))
        ]

    @api.get("/hub/v1/clips")
    def clips_json(request: Request) -> Response:
        caller(request, ANY_ROLE)
        return JSONResponse({"clips": found(request)})

    @api.get("/hub/search")
    def search_page(request: Request) -> Response:
        caller(request, ANY_ROLE)
        p = request.query_params
        clips = found(request)
        fields = "".join(
            f"<input name={k} placeholder={k} value='{html.escape(p.get(k, ''), quote=True)}'>"
            for k in ("order", "tracking", "station", "date")
        )
        rows = "".join(
            "<tr>"
            f"<td>{html.escape(c['order_id'])}</td>"
            f"<td>{html.escape(', '.join(c['tracking_ids']) or '-')}</td>"
            f"<td>{html.escape(c['station'])}</td><td>{_ms(c['started_ms'])}</td>"
            f"<td>{c['duration_ms'] / 1000:.0f} s</td><td>{html.escape(c['status'])}</td>"
            f"<td><a href='/hub/v1/clips/{html.escape(c['station'])}/{c['clip_id']}/video'>"
            "play</a> &middot; "
            f"<a href='/hub/v1/clips/{html.escape(c['station'])}/{c['clip_id']}/bundle'>"
            "bundle</a></td></tr>"
            for c in clips
        )
        body = (
            f"<form method=get>{fields}<button>search</button></form>"
            f"<p class=muted>{len(clips)} clip(s) across all stations &middot; "
            "<a href=/hub>fleet</a></p><table><tr><th>order</th><th>tracking</th>"
            "<th>station</th><th>started</th><th>length</th><th>status</th><th></th></tr>"
            + rows
            + "</table>"
        )
        return _page("Search every station", body)

    def clip_store(station: str, clip_id: str) -> Any:
        try:
            store = hub.mirror.store_of(station)
        except LogStateError as e:
            raise _Denied(404, e.message) from e
        row = store.clip(clip_id)
        if row is None:
            raise _Denied(404, f"station {station} has no clip {clip_id}")
        return store, row

    @api.get("/hub/v1/clips/{station}/{clip_id}/video")
    def video(station: str, clip_id: str, request: Request) -> Response:
        caller(request, ANY_ROLE)
        store, row = clip_store(station, clip_id)
        segs = store.segments(row.first_seq, row.last_seq)
        names = [segs[0].init, *(s.sha256 for s in segs)] if segs else []

        def stream() -> Iterator[bytes]:
            for sha in names:
                with store.open_blob(sha) as f:
                    while chunk := f.read(1 << 20):
                        yield chunk

        return StreamingResponse(stream(), media_type="video/mp4")

    @api.get("/hub/v1/clips/{station}/{clip_id}/bundle")
    def bundle(station: str, clip_id: str, request: Request) -> Response:
        user = caller(request, EXPORTERS)
        store, row = clip_store(station, clip_id)
        work = Path(tempfile.mkdtemp(prefix="packseal-hub-"))
        out = work / f"{row.order_id}-{row.clip_id}.zip"
        try:
            result = export_mirrored(store, row.clip_id, out)
        except PacksealError as e:
            raise _Denied(409, e.message) from e
        hub.accounts.record(
            at_ms=hub.clock.now_ms(),
            user=user.name,
            role=user.role,
            action="export",
            clip_id=row.clip_id,
            order_id=row.order_id,
            client_ip=request.client.host if request.client else "-",
            detail=f"hub export of station {station}",
        )

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

    @api.get("/tiles/{station}/checkpoint")
    def checkpoint(station: str, request: Request) -> Response:
        caller(request, READERS)
        try:
            store = hub.mirror.store_of(station)
        except LogStateError as e:
            raise _Denied(404, e.message) from e
        cp = store.latest_checkpoint()
        if cp is None:
            raise _Denied(404, "no checkpoint mirrored yet")
        note = hub.mirror.anchors_of(store.origin).cosigned_note(cp)
        return Response(
            note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    @api.get("/tiles/{station}/tile/{path:path}")
    def tile(station: str, path: str, request: Request) -> Response:
        caller(request, READERS)
        try:
            ref = parse_tile_path("tile/" + path)
            store = hub.mirror.store_of(station)
            cp = store.latest_checkpoint()
            data = store.read_tile(cp.size if cp else 0, ref)
        except (FormatError, LogStateError) as e:
            raise _Denied(404, e.message) from e
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
        )


__all__ = ["add_hub_web"]
