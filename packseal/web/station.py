"""The station screen: what the packer sees and hears while packing.

A page with the live picture, a banner readable from two metres (IDLE / RECORDING ORDER
X and the elapsed time / ALARM and why), sounds for clip start, clip sealed and errors,
the last ten clips, and Stop / Cancel buttons. A USB scanner gun types into the page; the
page sends each code to :meth:`Station.submit`.

Who may use it:

- bound to loopback (the default), anyone at the station's own keyboard: no login. The
  Host header must name the loopback address, so a web page elsewhere cannot reach the
  screen through DNS rebinding;
- bound to any other address, only with the station token (``?token=`` once, then a
  cookie; or ``Authorization: Bearer``).

Every POST needs the header ``X-Packseal-Station: 1``: another site's page can make a
browser send a plain form to 127.0.0.1, but not with a custom header (that needs a CORS
preflight this app never grants).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from packseal.accounts import same_secret
from packseal.config import Config
from packseal.i18n import STATION_SAID, Translate, translator
from packseal.web._http import BodyLimit, SecurityHeaders, WebError, install_error_handlers
from packseal.web._preview import PreviewCache
from packseal.web._templates import STATIC, duration, make_templates, page_language, size
from packseal.web.server import is_loopback
from recorder.station import Station
from recorder.status import StationAlarmKind, StationStatus
from storage.entries import Scan
from storage.zones import local_zone

STATION_COOKIE = "packseal_station"
POST_HEADER = "x-packseal-station"
_LONG_POLL_S = 1.0
_DISK_CHECK_S = 5.0


@dataclass
class StationScreen:
    station: Station
    config: Config
    token: str | None  # None: loopback, no token needed
    allowed_hosts: frozenset[str] | None  # None: any Host header
    free_bytes: Callable[[], int]
    reserve_bytes: int
    zone: dt.tzinfo
    failure: str | None = None  # set when the station stopped on an error
    preview: PreviewCache = field(default_factory=PreviewCache)
    _disk: tuple[float, int] = (0.0, 0)

    def disk_free(self) -> int:
        checked, free = self._disk
        if time.monotonic() - checked > _DISK_CHECK_S:
            free = self.free_bytes()
            self._disk = (time.monotonic(), free)
        return free


def screen(request: Request) -> StationScreen:
    found: StationScreen = request.app.state.screen
    return found


def _origin_host(origin: str) -> str:
    return origin.split("://", 1)[-1].rstrip("/")


def guard(request: Request) -> StationScreen:
    """The request may use the station screen (see the module docstring)."""
    s = screen(request)
    host = request.headers.get("host", "")
    if s.allowed_hosts is not None and host not in s.allowed_hosts:
        raise WebError(
            403,
            "this station screen only answers on its loopback address",
            hint="open it at the address `packseal station` printed",
        )
    if s.token is not None:
        header = request.headers.get("authorization", "")
        sent = header[7:] if header.lower().startswith("bearer ") else None
        sent = sent or request.cookies.get(STATION_COOKIE)
        if not sent or not same_secret(sent, s.token):
            raise WebError(
                401,
                "this station screen needs its token",
                hint="open the address with ?token=... that `packseal station` printed, "
                "or set web.station_token in config.yaml",
                headers={"WWW-Authenticate": "Bearer"},
            )
    if request.method == "POST":
        if request.headers.get(POST_HEADER) != "1":
            raise WebError(
                403,
                f"station actions need the {POST_HEADER} header",
                hint="use the buttons of the station page",
            )
        origin = request.headers.get("origin")
        if origin is not None and _origin_host(origin) != host:
            raise WebError(403, "station actions are only accepted from the station page")
    return s


Guarded = Annotated[StationScreen, Depends(guard)]
router = APIRouter()


@router.get("/", include_in_schema=False)
def page(request: Request, token: Annotated[str | None, Query(max_length=256)] = None) -> Response:
    s = screen(request)
    if token is not None and s.token is not None and same_secret(token, s.token):
        # The token arrives once in the printed URL; a cookie carries it from then on,
        # and the redirect keeps it out of the address bar and the browser history.
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            STATION_COOKIE, token, httponly=True, samesite="strict", max_age=30 * 86400
        )
        return response
    guard(request)
    settings = s.config.station
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "station.html",
        {
            "station": settings,
            "submit_after_ms": settings.scan.gun.submit_after_ms,
            "messages": js_messages(translator(page_language(request))),
        },
    )


# Words the page's script shows that come from the server's data (kinds, clip states).
_JS_DATA_WORDS = (
    "order", "tracking", "control", "other",
    "recording", "sealing", "sealed", "cancelled", "interrupted", "lost",
)  # fmt: skip


@cache
def js_ids() -> tuple[str, ...]:
    """Every text station.js passes to its ``t()``, and the data words it translates."""
    script = (STATIC / "station.js").read_text(encoding="utf-8")
    found = re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script)
    return tuple(dict.fromkeys([*found, *_JS_DATA_WORDS]))


def js_messages(_: Translate) -> dict[str, str]:
    """The script's texts in the page's language (only those that differ)."""
    return {text: _(text) for text in js_ids() if _(text) != text}


# What the packer should do about each alarm, in words for the banner ({ack}, {stop} and
# {cancel} are the configured control codes).
ADVICE: dict[StationAlarmKind, str] = {
    "duplicate-order": "If this order really is packed again, carry on; if not, scan "
    "{cancel}. Scan {ack} to dismiss.",
    "no-open-clip": "Scan the order barcode first, then the waybill. Scan {ack} to dismiss.",
    "source-lost": "Check the camera's cable and power; recording resumes when it is back. "
    "Scan {ack} to dismiss.",
    "encoder-died": "Recording has stopped: call the supervisor to restart the station.",
    "disk-full": "Recording has stopped: the disk is full. Call the supervisor.",
    "no-footage": "That order has no video: pack it again on camera. Scan {ack} to dismiss.",
    "scan-lost": "The camera's sub-stream is lost: video is still recorded, but no barcode is "
    "read until it is back. Check the camera and its sub-stream setting, or type the codes. "
    "Scan {ack} to dismiss.",
}


def advice(s: StationScreen, kind: StationAlarmKind, _: Translate) -> str:
    scan = s.config.station.scan
    return _(ADVICE[kind], ack=scan.ack_code, stop=scan.stop_code, cancel=scan.cancel_code)


# The station's alarm and warning texts, matched to translate them with their facts kept
# (packseal/i18n.py: the CLI's status line shows them too).
_SAID = STATION_SAID


def said(text: str, _: Translate) -> str:
    """A station message in the page's language, its facts (ids, sizes) unchanged."""
    for pattern, message in _SAID:
        m = pattern.fullmatch(text)
        if m:
            return _(message).format(*m.groups())
    return _(text)


def _elapsed(st: StationStatus) -> int | None:
    if st.clip_started is None:
        return None
    return max(0, st.now_ms - st.clip_started)


def status_json(s: StationScreen, _: Translate | None = None) -> dict[str, Any]:
    _ = _ or translator("en")
    st = s.station.status()
    frame = s.station.latest_frame
    warnings = []
    free = s.disk_free()
    if free < max(2 * s.reserve_bytes, s.reserve_bytes + (1 << 30)):
        warnings.append(f"disk low: {size(free)} free; recording stops at {size(s.reserve_bytes)}")

    def clock(t: int | None) -> str | None:
        return (
            None if t is None else dt.datetime.fromtimestamp(t / 1000, s.zone).strftime("%H:%M:%S")
        )

    return {
        "station": {"id": s.config.station.id, "name": s.config.station.name},
        "state": st.state,
        "order_id": st.order_id,
        "tracking_ids": list(st.tracking_ids),
        "elapsed_ms": _elapsed(st),
        "alarms": [said(a, _) for a in st.alarms],
        "advice": advice(s, st.alarm_kinds[-1], _) if st.alarm_kinds else None,
        "alarm_count": st.alarm_count,
        "codes": {
            "ack": s.config.station.scan.ack_code,
            "stop": s.config.station.scan.stop_code,
            "cancel": s.config.station.scan.cancel_code,
        },
        "warnings": [said(w, _) for w in warnings],
        "failure": s.failure,
        "clips_opened": st.clips_opened,
        "clips_sealed": st.clips_sealed,
        "last_scan": None
        if st.last_scan is None
        else {
            "text": st.last_scan.text,
            "kind": st.last_scan.kind,
            "source": st.last_scan.source,
            "at": clock(st.last_scan.t),
        },
        "recent": [
            {
                "clip_id": c.clip_id,
                "order_id": c.order_id,
                "state": c.state,
                "started": clock(c.started),
                "duration_ms": None if c.ended is None else c.ended - c.started,
                # the sealed footage, formatted as the portal shows it (and as long as the
                # CLI's `clips` says): pre- and post-roll included
                "footage_ms": c.footage_ms,
                "duration": None if c.footage_ms is None else duration(c.footage_ms, _),
                "end_reason": c.end_reason,
                "tracking_ids": list(c.tracking_ids),
                "repeat_of": c.repeat_of,
            }
            for c in st.recent
        ],
        "fps": st.fps,
        "frames_dropped": st.frames_dropped,
        # each view's health (one entry, view null, for a one-camera station)
        "views": [
            {
                "view": v.view,
                "primary": v.primary,
                "scans": v.scans,
                "mode": v.mode,
                "fps": v.fps,
                "captured": v.frames_captured,
                "dropped": v.frames_dropped,
                "lost": None if v.lost is None else said(v.lost, _),
            }
            for v in st.views
        ],
        "segments_sealed": st.segments_sealed,
        "frame_index": None if frame is None else frame.index,
    }


@router.get("/api/status")
def status(request: Request, s: Guarded) -> dict[str, Any]:
    return status_json(s, translator(page_language(request)))


@router.get("/api/preview.jpg", response_class=Response)
async def preview(
    s: Guarded, after: Annotated[int | None, Query(ge=-1, le=2**62)] = None
) -> Response:
    """The newest frame; with ``after=N``, waits (up to 1 s) for a frame newer than N."""
    deadline = time.monotonic() + _LONG_POLL_S
    frame = s.station.latest_frame
    while after is not None and (frame is None or frame.index == after):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.015)
        frame = s.station.latest_frame
    if frame is None:
        raise WebError(503, "no camera frame yet", hint="the station is starting")
    jpeg = await run_in_threadpool(
        s.preview.get, frame, s.station.last_reads(), s.config.station.scan.zone
    )
    return Response(
        jpeg,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "X-Frame-Index": str(frame.index)},
    )


class ScanIn(BaseModel):
    code: str = Field(min_length=1, max_length=512, description="what the scanner typed")


def effect(s: StationScreen, scan: Scan, st: StationStatus, _: Translate) -> tuple[bool, str]:
    """What a scan does to the station as it is now: (acted on, in words for the packer).

    The controller decides; this predicts it from the same state so the page can say at
    once why a code was ignored instead of leaving the packer to guess.
    """
    codes = s.config.station.scan
    order = st.order_id
    if scan.kind == "control":
        if scan.text == codes.ack_code:
            return True, _("alarms acknowledged") if st.alarms else _("nothing to acknowledge")
        stop = scan.text == codes.stop_code
        if order is None:
            return False, _("no clip is open to stop") if stop else _("no clip is open to cancel")
        if stop:
            return True, _("stops the clip of order {order}", order=order)
        return True, _("cancels the clip of order {order}", order=order)
    if scan.kind == "order":
        if order == scan.text:
            return True, _("order {order} scanned again: its clip is closed", order=order)
        if order is not None:
            return True, _(
                "closes order {order}, opens a clip for order {new}", order=order, new=scan.text
            )
        return True, _("opens a clip for order {order}", order=scan.text)
    if scan.kind == "tracking":
        if order is None:
            return False, _("no order is open: scan the order barcode first")
        return True, _("waybill of order {order}", order=order)
    why = said(s.station.classifier.why_other(scan.text, scan.symbology), _)
    if order is None:
        return False, _("not an order or a waybill: {why}", why=why)
    return True, _(
        "kept in order {order}'s clip, but not an order or a waybill: {why}", order=order, why=why
    )


@router.post("/api/scan")
def scan(request: Request, body: ScanIn, s: Guarded) -> dict[str, Any]:
    _ = translator(page_language(request))
    st = s.station.status()
    if st.state == "stopped" or s.failure is not None:
        return {
            "accepted": False,
            "text": body.code[:256],
            "kind": None,
            "effect": _("the station is not recording: nothing was scanned"),
        }
    done = s.station.submit(body.code, "web")
    if done is None:
        raise WebError(
            422,
            "the scanned code is empty or too long",
            hint="scan the barcode again; codes are at most 256 characters",
        )
    accepted, words = effect(s, done, st, _)
    return {"accepted": accepted, "text": done.text, "kind": done.kind, "effect": words}


def _control(s: StationScreen, code: str, what: str) -> dict[str, Any]:
    if s.station.status().order_id is None:
        raise WebError(409, f"no clip is open to {what}", hint="scan an order to start one")
    s.station.submit(code, "web")
    return {"accepted": True}


@router.post("/api/stop")
def stop(s: Guarded) -> dict[str, Any]:
    return _control(s, s.config.station.scan.stop_code, "stop")


@router.post("/api/cancel")
def cancel(s: Guarded) -> dict[str, Any]:
    return _control(s, s.config.station.scan.cancel_code, "cancel")


@router.post("/api/alarms/clear")
def clear_alarms(s: Guarded) -> dict[str, Any]:
    s.station.clear_alarms()
    return {"cleared": True}


def loopback_hosts(port: int) -> frozenset[str]:
    names = ("127.0.0.1", "localhost", "[::1]")
    return frozenset({*names, *(f"{n}:{port}" for n in names)})


def create_station_screen(
    station: Station,
    config: Config,
    *,
    host: str,
    port: int,
    token: str | None = None,
    free_bytes: Callable[[], int] | None = None,
    allowed_hosts: frozenset[str] | None = None,
) -> tuple[FastAPI, StationScreen]:
    """The station screen app for ``station``, to be served on ``host:port``.

    Off loopback ``token`` is required. ``allowed_hosts`` defaults to the loopback names
    with ``port`` on loopback (tests pass the test client's host).
    """
    loopback = is_loopback(host)
    if not loopback and not token:
        raise ValueError(f"the station screen on {host} (not loopback) needs a token")
    zone_name = config.station.timezone
    state = StationScreen(
        station=station,
        config=config,
        token=None if loopback else token,
        allowed_hosts=(allowed_hosts or loopback_hosts(port)) if loopback else None,
        free_bytes=free_bytes or station.store.free_bytes,
        reserve_bytes=station.store.reserve_bytes,
        zone=local_zone(zone_name),
    )
    web = FastAPI(title="packseal station screen", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.screen = state
    web.state.language = config.ui.language
    web.state.templates = make_templates(state.zone, home=("/", "Back to the station screen"))
    install_error_handlers(web)
    web.add_middleware(BodyLimit, max_bytes=8 * 1024)  # a scanned code, never more
    web.add_middleware(SecurityHeaders)
    web.include_router(router)

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    return web, state
